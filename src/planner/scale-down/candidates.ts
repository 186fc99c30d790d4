import { compareText } from '../cluster.js';
import type { InFlightView } from '../in-flight.js';
import { NodeReason, minutes } from '../reasons.js';
import type { GroupInfo, NodeInfo, PlannerInput, PodInfo } from '../types.js';
import { SCALE_DOWN_DISABLED } from './blockers.js';

/** A managed node that might go: underutilized, or NotReady for longer than --scale-down-unready-time. */
export interface Candidate {
  node: NodeInfo;
  group: GroupInfo;
  /** The pods that hold the node: not DaemonSet, mirror or already terminating pods. */
  pods: PodInfo[];
  /** The larger of requested cpu / allocatable and requested memory / allocatable. */
  utilization: number;
  unready: boolean;
}

/** Nodes of running scale-ups, which scale-down leaves alone until their scale-up ends (see in-flight.ts). */
export type RunningScaleUpNodes = Pick<InFlightView, 'joining' | 'unconfirmed'>;

/** Records a node that stays, and why. */
export type Keep = (n: NodeInfo, reason: string, message: string, blockingPod?: string) => void;

/** Requested cpu and memory over allocatable, whichever is higher, as cluster-autoscaler computes utilization. */
export function utilizationOf(node: NodeInfo, pods: PodInfo[]): number {
  let cpu = 0;
  let memory = 0;
  for (const p of pods) {
    cpu += p.requests.cpuMilli;
    memory += p.requests.memoryBytes;
  }
  return Math.max(cpu / Math.max(1, node.allocatable.cpuMilli), memory / Math.max(1, node.allocatable.memoryBytes));
}

/**
 * Managed nodes worth simulating a removal for, empty ones first, then the least used; every other managed node
 * gets its `kept` verdict here (being removed, held, paused group, awaited by pending pods, the scale-down-disabled
 * annotation, NotReady too briefly, not underutilized).
 */
export function findCandidates(
  input: PlannerInput,
  managed: NodeInfo[],
  groups: Map<string, GroupInfo>,
  byNode: Map<string, PodInfo[]>,
  awaited: Map<string, string>,
  keep: Keep,
  ofRunningScaleUps: RunningScaleUpNodes,
): Candidate[] {
  const { now, options, state } = input;
  const beingRemoved = new Set(state.nodesBeingRemoved);
  const held = new Set(state.held);
  const pausedGroups = new Set(state.pausedGroups);
  const out: Candidate[] = [];
  for (const n of managed) {
    const group = groups.get(n.group!)!;
    if (beingRemoved.has(n.name)) {
      keep(n, NodeReason.BeingRemoved, 'a scale-down is already removing it');
      continue;
    }
    if (ofRunningScaleUps.joining.has(n.name)) {
      keep(n, NodeReason.StillJoining, 'a running scale-up made it; it is not usable yet');
      continue;
    }
    if (ofRunningScaleUps.unconfirmed.has(n.name)) {
      keep(n, NodeReason.StillJoining, 'a running scale-up made it and has not yet seen it join');
      continue;
    }
    if (held.has(n.name)) {
      keep(n, NodeReason.HeldByOperator, 'an operator holds this node');
      continue;
    }
    if (pausedGroups.has(group.name)) {
      keep(n, NodeReason.Paused, `group ${group.name} is paused by an operator`);
      continue;
    }
    const awaitedFor = awaited.get(n.name);
    if (awaitedFor) {
      keep(n, NodeReason.AwaitingPendingPods, awaitedFor);
      continue;
    }
    if (n.annotations[SCALE_DOWN_DISABLED] === 'true') {
      keep(n, NodeReason.ScaleDownDisabledAnnotation, `annotated ${SCALE_DOWN_DISABLED}: "true"`);
      continue;
    }
    // A pod already terminating leaves whatever we decide: it needs no new place and blocks nothing.
    const pods = (byNode.get(n.name) ?? []).filter((p) => !p.isDaemonSet && !p.isMirror && !p.deleting);
    const utilization = utilizationOf(n, pods);
    if (!n.ready) {
      const since = n.notReadySince ?? n.createdAt;
      if (now - since < options.scaleDownUnreadyTimeMs) {
        keep(
          n,
          NodeReason.UnreadyNotLongEnough,
          `NotReady for ${minutes(now - since)}; removable after ${minutes(options.scaleDownUnreadyTimeMs)}`,
        );
        continue;
      }
      out.push({ node: n, group, pods, utilization, unready: true });
      continue;
    }
    if (utilization >= group.scaleDownUtilizationThreshold) {
      keep(
        n,
        NodeReason.NotUnderutilized,
        `requests ${Math.round(utilization * 100)}% of its cpu or memory, at or above the ${group.scaleDownUtilizationThreshold * 100}% threshold`,
      );
      continue;
    }
    out.push({ node: n, group, pods, utilization, unready: false });
  }
  return out.sort(
    (a, b) =>
      Number(a.pods.length > 0) - Number(b.pods.length > 0) ||
      a.utilization - b.utilization ||
      compareText(a.node.name, b.node.name),
  );
}
