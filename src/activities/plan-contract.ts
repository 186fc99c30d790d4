import type { PlannerState } from '../planner/types.js';

// The contract between the evaluator workflow and the planScaling activity: what the evaluator knows (its timers,
// in-flight operations, pauses and holds) goes in; decisions with reasons come out. Kept small on purpose: it is
// recorded in workflow history on every evaluation.

/** The evaluator's durable state, as the planner needs it (the planner's own state type). Times are epoch ms. */
export type PlanRequest = PlannerState;

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
  ready: number;
  min: number;
  max: number;
  /** From the config, so operator-started operations use the same timeouts as planned ones. */
  provisionTimeoutMs: number;
  drainTimeoutMs: number;
}

export interface PlanResult {
  at: number;
  scaleUps: PlannedScaleUp[];
  scaleDowns: PlannedScaleDown[];
  unneededSince: Record<string, number>;
  groups: Record<string, GroupView>;
  /** Managed nodes by group with their VM hostname, so operator commands can address them. */
  nodes: Record<string, { group: string; hostname: string; verdict: Verdict }>;
  /** Pending pods' verdicts, at most MAX_POD_VERDICTS of them; `pendingPods` counts all. */
  pods: Record<string, Verdict>;
  pendingPods: number;
  /** How many pods got each reason, over all pending pods. */
  podReasons: Record<string, number>;
  blocked?: { reason: string; message: string };
}

/** Caps the per-pod verdicts an evaluation records; the counts in `podReasons` cover the rest. */
export const MAX_POD_VERDICTS = 100;
