import type { PlannerState } from '../planner/types.js';

// The contract between the evaluator workflow and the planScaling activity: what the evaluator knows (its timers,
// in-flight operations, pauses and holds) goes in; decisions with reasons come out. Both are recorded in workflow
// history on every evaluation, so neither may grow with the cluster: timers travel by reference (a version the
// worker caches) with changes as deltas, and verdicts are capped with counts for the rest.

/** The evaluator's state as the planner needs it, with the unneeded-since timers by reference. */
export interface PlanRequest extends Omit<PlannerState, 'unneededSince'> {
  /** The evaluator's workflow ID; with `timers.epoch` it keys the worker's copy of the timers. */
  evaluatorId: string;
  timers: TimersRef;
}

/**
 * The evaluator's unneeded-since timers by reference: `epoch` is random per fresh evaluator state, `version` counts
 * the deltas applied to it. `full` is sent only when a worker answered `needTimers` (it has no copy of this version,
 * e.g. after a failover), so a steady plan carries a few bytes instead of one entry per unneeded node.
 */
export interface TimersRef {
  epoch: string;
  version: number;
  full?: Record<string, number>;
}

/** The change to the timers one plan makes, applied by the evaluator to get `version + 1`. */
export interface TimersDelta {
  set: Record<string, number>;
  cleared: string[];
}

/** At most this many timer changes per plan; the rest start one evaluation later, which only delays a removal. */
export const MAX_TIMER_DELTA = 100;

export interface PlannedScaleUp {
  group: string;
  count: number;
  reason: string;
  provisionTimeoutMs: number;
}

export interface PlannedScaleDown {
  node: string;
  group: string;
  hostname: string;
  /** The node's VM identity label, if it has one: only the VM carrying it may be deleted. */
  vmId?: string;
  reason: string;
  drainTimeoutMs: number;
}

/** Why one pod or node is where it is, in words an operator can act on. */
export interface Verdict {
  kind: string;
  reason: string;
  message: string;
  group?: string;
}

export interface GroupView {
  /** Registered Nodes of the group. */
  size: number;
  /** VMs running scale-ups asked for that are not Nodes yet (each VM counts once: as a Node or as this). */
  inFlight?: number;
  ready: number;
  min: number;
  max: number;
  /** From the config, so operator-started operations use the same timeouts as planned ones. */
  provisionTimeoutMs: number;
  drainTimeoutMs: number;
  /** Why the group could not be planned for this time (its Slicer daemon did not answer), if so. */
  unavailable?: string;
}

/** A managed node an operator command may address, with its verdict. */
export interface NodeView {
  group: string;
  hostname: string;
  vmId?: string;
  verdict: Verdict;
}

export interface PlanResult {
  at: number;
  /** The worker has no copy of the timers this request referred to: send them again with `timers.full`. */
  needTimers?: true;
  scaleUps: PlannedScaleUp[];
  scaleDowns: PlannedScaleDown[];
  /** How this plan changed the unneeded-since timers. */
  timers: TimersDelta;
  groups: Record<string, GroupView>;
  /** Every Node in the cluster and the --max-nodes-total limit (0 = none), for operator commands. */
  totalNodes: number;
  maxNodesTotal: number;
  /** Verdicts of at most MAX_NODE_VERDICTS managed nodes, the ones an operator asks about first. */
  nodes: Record<string, NodeView>;
  /** Managed nodes by verdict reason, over all of them. */
  nodeReasons: Record<string, number>;
  /** Pending pods' verdicts, at most MAX_POD_VERDICTS of them; `pendingPods` counts all. */
  pods: Record<string, Verdict>;
  pendingPods: number;
  /** How many pods got each reason, over all pending pods. */
  podReasons: Record<string, number>;
  blocked?: { reason: string; message: string };
}

/** Caps the per-pod verdicts an evaluation records; the counts in `podReasons` cover the rest. */
export const MAX_POD_VERDICTS = 20;
/** Caps the per-node verdicts an evaluation records; the counts in `nodeReasons` cover the rest. */
export const MAX_NODE_VERDICTS = 20;
/** Verdict messages are cut to this length in history (the full text is in events and annotations). */
export const MAX_VERDICT_MESSAGE = 240;
