import {
  MAX_NODE_VERDICTS,
  MAX_POD_VERDICTS,
  type GroupView,
  type PlanRequest,
  type PlanResult,
  type Verdict,
} from '../shared/plan-contract.js';
import type { OperationRecord } from '../shared/operations.js';
import { expireOverrides, overrideExpiries, type SteeringData } from './steering.js';

// The evaluator's durable state. Plain JSON only (no Map/Set) because it is carried through continue-as-new.
// Pure: every method takes `now` (workflow time), so it is unit-tested without a Temporal server.

/** Scale-up backoff after a failed scale-up, as cluster-autoscaler: 5 min doubling to 30 min. */
export const BACKOFF_INITIAL_MS = 5 * 60_000;
export const BACKOFF_MAX_MS = 30 * 60_000;

export type { OperationRecord };

/** An operator command that was refused after it was accepted for delivery (a signal cannot answer). */
export interface Refusal {
  at: number;
  command: string;
  input: string;
  reason: string;
}

/** Steering fields (dry-run record, size overrides) live in steering.ts. */
export interface StateData extends SteeringData {
  paused: { reason: string; until?: number } | null;
  pausedGroups: Record<string, { reason: string; until?: number }>;
  holds: Record<string, { reason: string; until?: number }>;
  unneededSince: Record<string, number>;
  /** Identity of `unneededSince` for the worker's copy (see TimersRef). */
  timers: { epoch: string; version: number };
  lastScaleUpAt?: number;
  lastScaleDownAt?: number;
  lastScaleDownFailureAt?: number;
  backoff: Record<string, { until: number; failures: number; lastError: string }>;
  operations: Record<string, OperationRecord>;
  /** Finish signals of operations not (yet) in `operations`: a finish can arrive before the start is recorded. */
  finishedEarly: Record<string, number>;
  /** When the next orphan sweep is due; kept across continue-as-new so short runs never skip it. */
  nextReconcileAt?: number;
  /** What the last orphan sweeps found and did, newest first. */
  orphans?: {
    at: number;
    kind: string;
    group: string;
    hostname: string;
    node?: string;
    action: string;
    reason: string;
  }[];
  /** Last operations finished, newest first, for `status`. */
  recent: { workflowId: string; kind: string; group: string; succeeded: boolean; message: string; at: number }[];
  /** Last refused operator commands, newest first. */
  refusals: Refusal[];
}

export interface EvaluatorStatus {
  paused: StateData['paused'];
  pausedGroups: StateData['pausedGroups'];
  holds: StateData['holds'];
  backoff: StateData['backoff'];
  operations: StateData['operations'];
  recent: StateData['recent'];
  orphans: NonNullable<StateData['orphans']>;
  refusals: Refusal[];
  groups: Record<string, GroupView>;
  lastEvaluationAt?: number;
  blocked?: { reason: string; message: string };
  pendingPods: number;
  unneededNodes: number;
  /** Set by the workflow from its input: planned operations are recorded in `wouldHave`, never started. */
  dryRun?: boolean;
  wouldHave?: StateData['wouldHave'];
  overrides: NonNullable<StateData['overrides']>;
}

export type PlanSummary = PlanResult;

export type Explanation =
  | { found: true; subject: string; verdict: Verdict; evaluatedAt: number }
  | { found: false; subject: string; message: string };

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

const RECENT_LIMIT = 20;
/** Early finish signals are kept this long and at most this many: a start follows its finish within one task. */
const EARLY_FINISH_TTL_MS = 10 * 60_000;
const EARLY_FINISH_LIMIT = 200;

export function emptyState(epoch: string): StateData {
  return {
    paused: null,
    pausedGroups: {},
    holds: {},
    unneededSince: {},
    timers: { epoch, version: 0 },
    backoff: {},
    operations: {},
    finishedEarly: {},
    recent: [],
    refusals: [],
  };
}

/** State carried from an older release may lack newer fields; fill them so every method can rely on them. */
function upgrade(data: StateData, epoch: string): StateData {
  return {
    ...emptyState(epoch),
    ...data,
    timers: data.timers ?? { epoch, version: 0 },
    finishedEarly: data.finishedEarly ?? {},
    refusals: data.refusals ?? [],
  };
}

export class EvaluatorState {
  readonly data: StateData;
  lastPlan: PlanResult | null = null;
  /** Workflow time the last plan was asked for: operations started since then are not in it yet. */
  private lastPlanRequestedAt = 0;
  private readonly backoffOptions: BackoffOptions;

  constructor(data?: StateData, epoch = 'none', backoff?: Partial<BackoffOptions>) {
    this.data = data ? upgrade(data, epoch) : emptyState(epoch);
    this.backoffOptions = {
      initialMs: backoff?.initialMs ?? BACKOFF_INITIAL_MS,
      maxMs: backoff?.maxMs ?? BACKOFF_MAX_MS,
    };
  }

  /** Drops pauses, holds and early finish records whose time is up. Returns true if anything changed. */
  expire(now: number): boolean {
    let changed = false;
    if (this.data.paused?.until !== undefined && this.data.paused.until <= now) {
      this.data.paused = null;
      changed = true;
    }
    for (const table of [this.data.pausedGroups, this.data.holds]) {
      for (const [key, value] of Object.entries(table)) {
        if (value.until !== undefined && value.until <= now) {
          delete table[key];
          changed = true;
        }
      }
    }
    for (const [id, at] of Object.entries(this.data.finishedEarly))
      if (now - at > EARLY_FINISH_TTL_MS) delete this.data.finishedEarly[id];
    return expireOverrides(this.data, now) || changed;
  }

  /**
   * The next time something expires by itself after `now`, so the loop can wake up for it. Times already past are
   * never returned: a backoff that ran out stays recorded (its failure count doubles the next one) but is no
   * reason to wake up again.
   */
  nextExpiry(now: number): number | undefined {
    const times = [
      this.data.paused?.until,
      ...Object.values(this.data.pausedGroups).map((p) => p.until),
      ...Object.values(this.data.holds).map((h) => h.until),
      ...Object.values(this.data.backoff).map((b) => b.until),
      ...overrideExpiries(this.data),
    ].filter((t): t is number => t !== undefined && t > now);
    return times.length ? Math.min(...times) : undefined;
  }

  planRequest(now: number, evaluatorId: string, withTimers = false): PlanRequest {
    const inFlight: Record<string, number> = {};
    const inFlightOps: { opId: string; group: string; count: number }[] = [];
    const removing: string[] = [];
    for (const op of Object.values(this.data.operations)) {
      if (op.kind === 'scale-up') {
        inFlight[op.group] = (inFlight[op.group] ?? 0) + (op.count ?? 0);
        if (op.opId) inFlightOps.push({ opId: op.opId, group: op.group, count: op.count ?? 0 });
      } else if (op.node) removing.push(op.node);
    }
    this.lastPlanRequestedAt = now;
    return {
      evaluatorId,
      paused: this.data.paused !== null,
      // A group pinned by a size override is the evaluator's to size, not the planner's.
      pausedGroups: [...new Set([...Object.keys(this.data.pausedGroups), ...Object.keys(this.data.overrides ?? {})])],
      timers: { ...this.data.timers, ...(withTimers && { full: { ...this.data.unneededSince } }) },
      lastScaleUpAt: this.data.lastScaleUpAt,
      lastScaleDownAt: this.data.lastScaleDownAt,
      lastScaleDownFailureAt: this.data.lastScaleDownFailureAt,
      backoffUntil: Object.fromEntries(
        Object.entries(this.data.backoff)
          .filter(([, b]) => b.until > now)
          .map(([g, b]) => [g, b.until]),
      ),
      inFlight,
      inFlightOps,
      nodesBeingRemoved: removing,
      held: Object.keys(this.data.holds),
    };
  }

  /** Keeps the plan for queries and applies its timer changes. */
  recordPlan(plan: PlanResult): void {
    this.lastPlan = plan;
    for (const node of plan.timers.cleared) delete this.data.unneededSince[node];
    Object.assign(this.data.unneededSince, plan.timers.set);
    this.data.timers = { ...this.data.timers, version: this.data.timers.version + 1 };
  }

  started(workflowId: string, op: OperationRecord): void {
    if (op.kind === 'scale-up') this.data.lastScaleUpAt = op.startedAt;
    // Its finish was already heard (both arrived in one workflow task): it is over, do not count it again.
    if (workflowId in this.data.finishedEarly) {
      delete this.data.finishedEarly[workflowId];
      return;
    }
    this.data.operations[workflowId] = op;
  }

  /** Applies an operation's outcome: frees its in-flight slot and updates cooldowns and backoff. */
  finished(
    workflowId: string,
    outcome: { succeeded: boolean; message: string; kind: string; group: string },
    now: number,
  ): void {
    const op = this.data.operations[workflowId];
    if (op) delete this.data.operations[workflowId];
    else this.rememberEarlyFinish(workflowId, now);
    const kind = op?.kind ?? outcome.kind;
    const group = op?.group ?? outcome.group;
    if (kind === 'scale-up') {
      if (outcome.succeeded) {
        delete this.data.backoff[group];
      } else {
        const failures = (this.data.backoff[group]?.failures ?? 0) + 1;
        const { initialMs, maxMs } = this.backoffOptions;
        const wait = Math.min(initialMs * 2 ** (failures - 1), maxMs);
        this.data.backoff[group] = { until: now + wait, failures, lastError: outcome.message.slice(0, 500) };
      }
    } else if (outcome.succeeded) {
      this.data.lastScaleDownAt = now;
      if (op?.node) delete this.data.unneededSince[op.node];
    } else {
      this.data.lastScaleDownFailureAt = now;
    }
    this.data.recent.unshift({
      workflowId,
      kind,
      group,
      succeeded: outcome.succeeded,
      message: outcome.message.slice(0, 500),
      at: now,
    });
    this.data.recent.length = Math.min(this.data.recent.length, RECENT_LIMIT);
  }

  private rememberEarlyFinish(workflowId: string, now: number): void {
    this.data.finishedEarly[workflowId] = now;
    const ids = Object.keys(this.data.finishedEarly);
    if (ids.length <= EARLY_FINISH_LIMIT) return;
    const oldest = ids.sort((a, b) => this.data.finishedEarly[a]! - this.data.finishedEarly[b]!)[0]!;
    delete this.data.finishedEarly[oldest];
  }

  /** Records a refused operator command where `status` shows it. */
  refused(command: string, input: unknown, reason: string, now: number): void {
    let text: string;
    try {
      text = JSON.stringify(input) ?? String(input);
    } catch {
      text = String(input);
    }
    this.data.refusals.unshift({ at: now, command, input: text.slice(0, 300), reason: reason.slice(0, 500) });
    this.data.refusals.length = Math.min(this.data.refusals.length, RECENT_LIMIT);
  }

  /**
   * What max-size and min-size are checked against: the group's registered Nodes plus VMs still on the way (as the
   * last plan counted them, plus every scale-up started since), minus Nodes being removed.
   */
  groupSize(group: string): number {
    const view = this.lastPlan?.groups[group];
    let size = (view?.size ?? 0) + (view?.inFlight ?? 0);
    for (const op of Object.values(this.data.operations)) {
      if (op.group !== group) continue;
      if (op.kind === 'scale-up' && (op.startedAt >= this.lastPlanRequestedAt || !view)) size += op.count ?? 0;
      if (op.kind === 'scale-down') size -= 1;
    }
    return size;
  }

  /** Every node of the cluster plus VMs on the way, for --max-nodes-total. */
  totalSize(): number {
    let size = this.lastPlan?.totalNodes ?? 0;
    for (const view of Object.values(this.lastPlan?.groups ?? {})) size += view.inFlight ?? 0;
    for (const op of Object.values(this.data.operations)) {
      if (op.kind === 'scale-up' && op.startedAt >= this.lastPlanRequestedAt) size += op.count ?? 0;
      if (op.kind === 'scale-down') size -= 1;
    }
    return size;
  }

  /** What an orphan sweep must leave alone: VMs of running scale-ups, nodes being removed. */
  busy(): { busyOperations: string[]; busyNodes: string[] } {
    const ops = Object.entries(this.data.operations);
    return {
      busyOperations: ops.filter(([, o]) => o.kind === 'scale-up').map(([id]) => id),
      busyNodes: ops.filter(([, o]) => o.node).map(([, o]) => o.node!),
    };
  }

  recordOrphans(findings: Omit<NonNullable<StateData['orphans']>[number], 'at'>[], now: number): void {
    if (findings.length === 0) return;
    this.data.orphans = [...findings.map((f) => ({ ...f, at: now })), ...(this.data.orphans ?? [])].slice(
      0,
      RECENT_LIMIT,
    );
  }

  isBusy(node: string): boolean {
    return Object.values(this.data.operations).some((o) => o.node === node);
  }

  status(): EvaluatorStatus {
    return {
      paused: this.data.paused,
      pausedGroups: this.data.pausedGroups,
      holds: this.data.holds,
      backoff: this.data.backoff,
      operations: this.data.operations,
      recent: this.data.recent,
      orphans: this.data.orphans ?? [],
      refusals: this.data.refusals,
      groups: this.lastPlan?.groups ?? {},
      lastEvaluationAt: this.lastPlan?.at,
      blocked: this.lastPlan?.blocked,
      pendingPods: this.lastPlan?.pendingPods ?? 0,
      unneededNodes: Object.keys(this.data.unneededSince).length,
      wouldHave: this.data.wouldHave,
      overrides: this.data.overrides ?? {},
    };
  }

  explain(subject: { pod?: string; node?: string }): Explanation {
    const plan = this.lastPlan;
    const name = subject.pod ?? subject.node ?? '';
    if (!plan) return { found: false, subject: name, message: 'no evaluation has run yet' };
    if (subject.node) {
      const node = plan.nodes[subject.node];
      if (node) return { found: true, subject: name, verdict: node.verdict, evaluatedAt: plan.at };
      const managed = Object.values(plan.nodeReasons).reduce((a, b) => a + b, 0);
      return {
        found: false,
        subject: name,
        message:
          managed > MAX_NODE_VERDICTS
            ? `node ${name} is not among the ${MAX_NODE_VERDICTS} nodes whose verdicts the last evaluation kept (of ${managed} managed); its verdict is in the node's annotation slicer-autoscaler/scale-down (kubectl describe node ${name}); reasons over all managed nodes: ${JSON.stringify(plan.nodeReasons)}`
            : `node ${name} is not managed by slicer-autoscaler (no slicer/hostgroup label of a configured group)`,
      };
    }
    const pod = subject.pod?.includes('/') ? subject.pod : `default/${subject.pod}`;
    const verdict = plan.pods[pod ?? ''];
    if (verdict) return { found: true, subject: pod ?? name, verdict, evaluatedAt: plan.at };
    const message =
      plan.pendingPods > Object.keys(plan.pods).length
        ? `pod ${pod} is not among the ${MAX_POD_VERDICTS} pending pods whose verdicts the last evaluation kept; reasons over all ${plan.pendingPods} pending pods: ${JSON.stringify(plan.podReasons)}`
        : `pod ${pod} was not pending (not marked Unschedulable) at the last evaluation`;
    return { found: false, subject: pod ?? name, message };
  }
}
