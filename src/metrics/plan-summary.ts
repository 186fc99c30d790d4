import type { PlanRequest, PlanResult } from '../shared/plan-contract.js';
import type { NodeInfo } from '../planner/index.js';
import { isUsable } from '../planner/in-flight.js';

// What one evaluation says about the cluster's health and each node group, in cluster-autoscaler's terms. Pure:
// the metrics and the status ConfigMap are both rendered from this, so they never disagree.

/** cluster-autoscaler's taint on nodes it is removing. */
const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';
/** A node outside our groups counts as starting for this long, like cluster-autoscaler's MaxNodeStartupTime. */
export const UNMANAGED_STARTUP_MS = 15 * 60_000;

export interface NodeCounts {
  total: number;
  ready: number;
  unready: number;
  notStarted: number;
  beingDeleted: number;
  /** VMs asked for and not yet a Node. */
  unregistered: number;
  /** Always 0 here: VMs that never joined are the orphan sweep's business (see README). */
  longUnregistered: number;
}

export type ScaleUpStatus = 'Backoff' | 'InProgress' | 'Needed' | 'NoActivity';

export interface GroupSummary {
  name: string;
  min: number;
  max: number;
  /** Registered nodes not being deleted, plus VMs in flight: what the group is heading for. */
  target: number;
  healthy: boolean;
  counts: NodeCounts;
  scaleUp: ScaleUpStatus;
  backoffUntil?: number;
  /** Nodes the planner considers unneeded or removable. */
  scaleDownCandidates: number;
}

export interface PlanSummary {
  at: number;
  healthy: boolean;
  counts: NodeCounts;
  groups: GroupSummary[];
  scaleUp: Exclude<ScaleUpStatus, 'Backoff'>;
  scaleDownCandidates: number;
  pendingPods: number;
  /** Pods with no node and no scheduler verdict yet (CA's `scheduler_unprocessed`). */
  schedulerUnprocessed: number;
  scaleDownBlocked?: string;
}

/** cluster-autoscaler's unready thresholds (`--ok-total-unready-count`, `--max-total-unready-percentage`). */
export interface HealthThresholds {
  okTotalUnreadyCount: number;
  maxTotalUnreadyPercentage: number;
}

function emptyCounts(): NodeCounts {
  return { total: 0, ready: 0, unready: 0, notStarted: 0, beingDeleted: 0, unregistered: 0, longUnregistered: 0 };
}

/** Unhealthy only when both limits are exceeded, as cluster-autoscaler's IsClusterHealthy decides. */
export function isHealthy(c: NodeCounts, t: HealthThresholds): boolean {
  if (c.unready <= t.okTotalUnreadyCount) return true;
  return c.unready <= (t.maxTotalUnreadyPercentage / 100) * Math.max(c.total, 1);
}

/** Folds every node into the cluster counts and its group's counts. */
function countNodes(
  nodes: readonly NodeInfo[],
  req: PlanRequest,
  startupMs: (group: string | undefined) => number,
  now: number,
): { cluster: NodeCounts; byGroup: Map<string, NodeCounts> } {
  const removing = new Set(req.nodesBeingRemoved);
  const cluster = emptyCounts();
  const byGroup = new Map<string, NodeCounts>();
  for (const n of nodes) {
    const targets = [cluster];
    if (n.group !== undefined) {
      let g = byGroup.get(n.group);
      if (!g) byGroup.set(n.group, (g = emptyCounts()));
      targets.push(g);
    }
    const deleting = removing.has(n.name) || n.taints.some((t) => t.key === TO_BE_DELETED_TAINT);
    const state = isUsable(n) ? 'ready' : now - n.createdAt < startupMs(n.group) ? 'notStarted' : 'unready';
    for (const c of targets) {
      c.total += 1;
      c[state] += 1;
      if (deleting) c.beingDeleted += 1;
    }
  }
  return { cluster, byGroup };
}

/** The evaluation as cluster-autoscaler would describe it. */
export function summarizePlan(args: {
  req: PlanRequest;
  result: PlanResult;
  nodes: readonly NodeInfo[];
  schedulerUnprocessed: number;
  thresholds: HealthThresholds;
}): PlanSummary {
  const { req, result, nodes, thresholds } = args;
  const now = result.at;
  const provision = (g: string | undefined) =>
    g !== undefined && result.groups[g] ? result.groups[g].provisionTimeoutMs : UNMANAGED_STARTUP_MS;
  const { cluster, byGroup } = countNodes(nodes, req, provision, now);
  const planned = new Set(result.scaleUps.map((u) => u.group));
  const candidates = new Map<string, number>();
  for (const n of Object.values(result.nodes)) {
    if (n.verdict.kind === 'unneeded' || n.verdict.kind === 'removable')
      candidates.set(n.group, (candidates.get(n.group) ?? 0) + 1);
  }
  const groups: GroupSummary[] = Object.entries(result.groups).map(([name, g]) => {
    const counts = byGroup.get(name) ?? emptyCounts();
    // The planner's count: VMs of running scale-ups not yet registered (each VM counted once).
    counts.unregistered = g.inFlight ?? req.inFlight[name] ?? 0;
    const backoffUntil = req.backoffUntil[name];
    const inBackoff = backoffUntil !== undefined && backoffUntil > now;
    const scaleUp: ScaleUpStatus = inBackoff
      ? 'Backoff'
      : counts.unregistered > 0
        ? 'InProgress'
        : planned.has(name)
          ? 'Needed'
          : 'NoActivity';
    return {
      name,
      min: g.min,
      max: g.max,
      target: counts.total - counts.beingDeleted + counts.unregistered,
      healthy: isHealthy(counts, thresholds),
      counts,
      scaleUp,
      ...(inBackoff && { backoffUntil }),
      scaleDownCandidates: candidates.get(name) ?? 0,
    };
  });
  cluster.unregistered = groups.reduce((s, g) => s + g.counts.unregistered, 0);
  return {
    at: now,
    healthy: isHealthy(cluster, thresholds) && result.blocked?.reason !== 'TooManyUnreadyNodes',
    counts: cluster,
    groups,
    scaleUp: cluster.unregistered > 0 ? 'InProgress' : planned.size > 0 ? 'Needed' : 'NoActivity',
    scaleDownCandidates: groups.reduce((s, g) => s + g.scaleDownCandidates, 0),
    pendingPods: result.pendingPods,
    schedulerUnprocessed: args.schedulerUnprocessed,
    ...(result.blocked && { scaleDownBlocked: result.blocked.reason }),
  };
}
