import type { GroupView, PlanRequest, PlanResult, Verdict } from '../activities/plan-contract.js';
import { expireOverrides, overrideExpiries, type SteeringData } from './steering.js';

// The evaluator's durable state. Plain JSON only (no Map/Set) because it is carried through continue-as-new.
// Pure: every method takes `now` (workflow time), so it is unit-tested without a Temporal server.

/** Scale-up backoff after a failed scale-up, as cluster-autoscaler: 5 min doubling to 30 min. */
export const BACKOFF_INITIAL_MS = 5 * 60_000;
export const BACKOFF_MAX_MS = 30 * 60_000;

export interface OperationRecord {
  kind: 'scale-up' | 'scale-down';
  group: string;
  /** Scale-up: VMs asked for. */
  count?: number;
  /** Scale-down: the node. */
  node?: string;
  startedAt: number;
  reason: string;
}

/** Steering fields (dry-run record, size overrides, refusals) live in steering.ts. */
export interface StateData extends SteeringData {
  seq: number;
  paused: { reason: string; until?: number } | null;
  pausedGroups: Record<string, { reason: string; until?: number }>;
  holds: Record<string, { reason: string; until?: number }>;
  unneededSince: Record<string, number>;
  lastScaleUpAt?: number;
  lastScaleDownAt?: number;
  lastScaleDownFailureAt?: number;
  backoff: Record<string, { until: number; failures: number; lastError: string }>;
  operations: Record<string, OperationRecord>;
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
}

export interface EvaluatorStatus {
  paused: StateData['paused'];
  pausedGroups: StateData['pausedGroups'];
  holds: StateData['holds'];
  backoff: StateData['backoff'];
  operations: StateData['operations'];
  recent: StateData['recent'];
  orphans: NonNullable<StateData['orphans']>;
  groups: Record<string, GroupView>;
  lastEvaluationAt?: number;
  blocked?: { reason: string; message: string };
  pendingPods: number;
  /** Set by the workflow from its input: planned operations are recorded in `wouldHave`, never started. */
  dryRun?: boolean;
  wouldHave?: StateData['wouldHave'];
  overrides: NonNullable<StateData['overrides']>;
  refusals: NonNullable<StateData['refusals']>;
}

export type PlanSummary = PlanResult;

export type Explanation =
  | { found: true; subject: string; verdict: Verdict; evaluatedAt: number }
  | { found: false; subject: string; message: string };

const RECENT_LIMIT = 20;

export function emptyState(): StateData {
  return {
    seq: 0,
    paused: null,
    pausedGroups: {},
    holds: {},
    unneededSince: {},
    backoff: {},
    operations: {},
    recent: [],
  };
}

export class EvaluatorState {
  readonly data: StateData;
  lastPlan: PlanResult | null = null;

  constructor(data?: StateData) {
    this.data = data ?? emptyState();
  }

  /** Drops pauses, holds and backoffs whose time is up. Returns true if anything changed. */
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
    return expireOverrides(this.data, now) || changed;
  }

  /** The next time something expires by itself, so the loop can wake up for it. */
  nextExpiry(): number | undefined {
    const times = [
      this.data.paused?.until,
      ...Object.values(this.data.pausedGroups).map((p) => p.until),
      ...Object.values(this.data.holds).map((h) => h.until),
      ...Object.values(this.data.backoff).map((b) => b.until),
      ...overrideExpiries(this.data),
    ].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  planRequest(now: number): PlanRequest {
    const inFlight: Record<string, number> = {};
    const removing: string[] = [];
    for (const op of Object.values(this.data.operations)) {
      if (op.kind === 'scale-up') inFlight[op.group] = (inFlight[op.group] ?? 0) + (op.count ?? 0);
      else if (op.node) removing.push(op.node);
    }
    return {
      paused: this.data.paused !== null,
      // A group pinned by a size override is the evaluator's to size, not the planner's.
      pausedGroups: [...new Set([...Object.keys(this.data.pausedGroups), ...Object.keys(this.data.overrides ?? {})])],
      unneededSince: { ...this.data.unneededSince },
      lastScaleUpAt: this.data.lastScaleUpAt,
      lastScaleDownAt: this.data.lastScaleDownAt,
      lastScaleDownFailureAt: this.data.lastScaleDownFailureAt,
      backoffUntil: Object.fromEntries(
        Object.entries(this.data.backoff)
          .filter(([, b]) => b.until > now)
          .map(([g, b]) => [g, b.until]),
      ),
      inFlight,
      nodesBeingRemoved: removing,
      held: Object.keys(this.data.holds),
    };
  }

  recordPlan(plan: PlanResult): void {
    this.lastPlan = plan;
    this.data.unneededSince = { ...plan.unneededSince };
  }

  /** Allocates the next operation number, so workflow IDs never repeat across continue-as-new. */
  nextSeq(): number {
    this.data.seq += 1;
    return this.data.seq;
  }

  started(workflowId: string, op: OperationRecord): void {
    this.data.operations[workflowId] = op;
    if (op.kind === 'scale-up') this.data.lastScaleUpAt = op.startedAt;
  }

  /** Applies an operation's outcome: frees its in-flight slot and updates cooldowns and backoff. */
  finished(
    workflowId: string,
    outcome: { succeeded: boolean; message: string; kind: string; group: string },
    now: number,
  ): void {
    const op = this.data.operations[workflowId];
    delete this.data.operations[workflowId];
    const kind = op?.kind ?? outcome.kind;
    const group = op?.group ?? outcome.group;
    if (kind === 'scale-up') {
      if (outcome.succeeded) {
        delete this.data.backoff[group];
      } else {
        const failures = (this.data.backoff[group]?.failures ?? 0) + 1;
        const wait = Math.min(BACKOFF_INITIAL_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
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

  /** Registered nodes plus VMs being created: what max-size is checked against. */
  groupSize(group: string): number {
    const registered = this.lastPlan?.groups[group]?.size ?? 0;
    const creating = Object.values(this.data.operations)
      .filter((o) => o.kind === 'scale-up' && o.group === group)
      .reduce((n, o) => n + (o.count ?? 0), 0);
    const removing = Object.values(this.data.operations).filter(
      (o) => o.kind === 'scale-down' && o.group === group,
    ).length;
    return registered + creating - removing;
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
      groups: this.lastPlan?.groups ?? {},
      lastEvaluationAt: this.lastPlan?.at,
      blocked: this.lastPlan?.blocked,
      pendingPods: this.lastPlan?.pendingPods ?? 0,
      wouldHave: this.data.wouldHave,
      overrides: this.data.overrides ?? {},
      refusals: this.data.refusals ?? [],
    };
  }

  explain(subject: { pod?: string; node?: string }): Explanation {
    const plan = this.lastPlan;
    const name = subject.pod ?? subject.node ?? '';
    if (!plan) return { found: false, subject: name, message: 'no evaluation has run yet' };
    if (subject.node) {
      const node = plan.nodes[subject.node];
      if (node) return { found: true, subject: name, verdict: node.verdict, evaluatedAt: plan.at };
      return {
        found: false,
        subject: name,
        message: `node ${name} is not managed by slicer-autoscaler (no slicer/hostgroup label of a configured group)`,
      };
    }
    const pod = subject.pod?.includes('/') ? subject.pod : `default/${subject.pod}`;
    const verdict = plan.pods[pod ?? ''];
    if (verdict) return { found: true, subject: pod ?? name, verdict, evaluatedAt: plan.at };
    const message =
      plan.pendingPods > Object.keys(plan.pods).length
        ? `pod ${pod} is not among the ${Object.keys(plan.pods).length} pending pods whose verdicts the last evaluation kept; reasons over all ${plan.pendingPods} pending pods: ${JSON.stringify(plan.podReasons)}`
        : `pod ${pod} was not pending (not marked Unschedulable) at the last evaluation`;
    return { found: false, subject: pod ?? name, message };
  }
}
