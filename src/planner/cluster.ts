import { untoleratedTaint, selectorMatches } from './fit.js';
import type { Capacity, GroupInfo, HostPort, NodeInfo, PodInfo } from './types.js';

/** Nodes cluster-autoscaler's taint marks as leaving; nothing new goes there. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** A node in simulation: a real node with its free room and pods, a VM being created, or a new template node. */
export interface Bin {
  name: string;
  free: Capacity;
  labels: Record<string, string>;
  taints: NodeInfo['taints'];
  /** The node group it belongs to, if managed. */
  group?: string;
  /** Live pods on it, running or placed in simulation: what topology constraints count. */
  pods: PodInfo[];
  /** Host ports its pods hold. */
  ports: HostPort[];
  /** When the Node was created; undefined for a VM that is not a Node yet. */
  createdAt?: number;
  /** New pods may land here (Ready, schedulable, not leaving). Other nodes still count for topology. */
  accepts: boolean;
  /**
   * Not a Node yet (in flight or planned): it has no hostname label, so it is its own hostname domain, named
   * after the bin (bin names of such nodes contain a space, which no label value can).
   */
  virtual: boolean;
  /** Removed by the drain simulation: neither a destination nor counted. */
  gone?: boolean;
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

/** An empty node of the group, as a new VM would join. `name` must contain a space (see Bin.virtual). */
export function templateBin(group: GroupInfo, name: string, labels = templateLabels(group)): Bin {
  return {
    name,
    free: { ...group.template.allocatable },
    labels,
    taints: group.template.taints,
    group: group.name,
    pods: [],
    ports: [],
    accepts: true,
    virtual: true,
  };
}

/** A real node as a bin: its free room, its live pods and their host ports. */
export function nodeBin(node: NodeInfo, pods: PodInfo[] | undefined, accepts: boolean): Bin {
  // One pass: at 5,000 nodes this runs over 150,000 pods. The list is copied because simulation adds to it.
  const list: PodInfo[] = new Array<PodInfo>(pods?.length ?? 0);
  const ports: HostPort[] = [];
  const free = { ...node.allocatable };
  for (let i = 0; i < list.length; i++) {
    const p = pods![i]!;
    list[i] = p;
    free.cpuMilli -= p.requests.cpuMilli;
    free.memoryBytes -= p.requests.memoryBytes;
    free.pods -= 1;
    if (p.hostPorts) ports.push(...p.hostPorts);
  }
  return {
    name: node.name,
    free,
    labels: node.labels,
    taints: node.taints,
    group: node.group,
    pods: list,
    ports,
    createdAt: node.createdAt,
    accepts,
    virtual: false,
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

/** Gives back what take() reserved. */
export function release(bin: Bin, pod: PodInfo): void {
  bin.free.cpuMilli += pod.requests.cpuMilli;
  bin.free.memoryBytes += pod.requests.memoryBytes;
  bin.free.pods += 1;
}

/** Code-unit order: the same everywhere, unlike localeCompare, and much faster in big sorts. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
