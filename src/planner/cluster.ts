import { untoleratedTaint, selectorMatches } from './fit.js';
import type { Capacity, GroupInfo, NodeInfo, PodInfo } from './types.js';

/** Nodes cluster-autoscaler's taint marks as leaving; nothing new goes there. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** A place pods can go in simulation: a real node's free room, or an empty template node. */
export interface Bin {
  name: string;
  free: Capacity;
  labels: Record<string, string>;
  taints: NodeInfo['taints'];
}

/** `namespace/name`, the key of every pod verdict and move. */
export function podKey(p: PodInfo): string {
  return `${p.namespace}/${p.name}`;
}

/** A pod that holds resources on its node. */
export function isLive(p: PodInfo): boolean {
  return p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

/** The labels a new VM of the group joins with, as the userdata sets them plus what the kubelet adds. */
export function templateLabels(group: GroupInfo): Record<string, string> {
  return {
    ...group.template.labels,
    'kubernetes.io/arch': group.template.arch,
    'kubernetes.io/os': 'linux',
    'slicer/hostgroup': group.name,
    'k3sup.dev/node-type': 'agent',
  };
}

/** An empty node of the group, as a new VM would join. */
export function templateBin(group: GroupInfo, name: string): Bin {
  return {
    name,
    free: { ...group.template.allocatable },
    labels: templateLabels(group),
    taints: group.template.taints,
  };
}

/** Pods by the node they are bound to. */
export function podsByNode(pods: PodInfo[]): Map<string, PodInfo[]> {
  const map = new Map<string, PodInfo[]>();
  for (const p of pods) {
    if (!p.nodeName || !isLive(p)) continue;
    let list = map.get(p.nodeName);
    if (!list) map.set(p.nodeName, (list = []));
    list.push(p);
  }
  return map;
}

/** Allocatable minus what the node's live pods request. */
export function freeOn(node: NodeInfo, pods: PodInfo[] | undefined): Capacity {
  const free = { ...node.allocatable };
  for (const p of pods ?? []) {
    free.cpuMilli -= p.requests.cpuMilli;
    free.memoryBytes -= p.requests.memoryBytes;
    free.pods -= 1;
  }
  return free;
}

/** A node new pods can land on: Ready, schedulable and not on its way out. */
export function acceptsPods(node: NodeInfo, leaving: Set<string>): boolean {
  return (
    node.ready &&
    !node.unschedulable &&
    !leaving.has(node.name) &&
    !node.taints.some((t) => t.key === TO_BE_DELETED_TAINT)
  );
}

/** Scheduling predicates except resources. */
export function admits(bin: Bin, pod: PodInfo): boolean {
  return selectorMatches(pod, bin.labels) && untoleratedTaint(pod, bin.taints) === undefined;
}

/** Reserves a pod's requests and one pod slot on a bin. */
export function take(bin: Bin, pod: PodInfo): void {
  bin.free.cpuMilli -= pod.requests.cpuMilli;
  bin.free.memoryBytes -= pod.requests.memoryBytes;
  bin.free.pods -= 1;
}

/** Code-unit order: the same everywhere, unlike localeCompare, and much faster in big sorts. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
