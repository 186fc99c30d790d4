import type { Bin } from '../../../src/planner/cluster.js';
import { classes } from '../../../src/planner/estimate.js';
import { equivalenceKey } from '../../../src/planner/fit.js';
import {
  DEFAULT_PLANNER_OPTIONS,
  type GroupInfo,
  type NodeInfo,
  type PdbInfo,
  type PlannerInput,
  type PodInfo,
} from '../../../src/planner/index.js';

export const GIB = 1024 ** 3;
export const NOW = 1_800_000_000_000;
export const MIN = 60_000;

/** A group with a 2 CPU / 4 GiB amd64 template unless overridden. */
export function group(
  o: Partial<GroupInfo> & { name: string; cpu?: number; memGib?: number; arch?: string },
): GroupInfo {
  const { cpu = 2, memGib = 4, arch = 'amd64', ...rest } = o;
  return {
    template: {
      allocatable: { cpuMilli: cpu * 1000, memoryBytes: memGib * GIB, pods: 110 },
      arch,
      labels: {},
      taints: [],
    },
    minSize: 0,
    maxSize: 10,
    priority: 0,
    scaleDownUnneededTimeMs: 10 * MIN,
    scaleDownUtilizationThreshold: 0.5,
    ...rest,
  };
}

/** A Ready node of a group (labels as a joined Slicer VM has them). */
export function node(o: Partial<NodeInfo> & { name: string; cpu?: number; memGib?: number; arch?: string }): NodeInfo {
  const { cpu = 2, memGib = 4, arch = 'amd64', ...rest } = o;
  const g = rest.group;
  return {
    hostname: g ? rest.name.replace(/-[0-9a-f]{8}$/, '') : undefined,
    allocatable: { cpuMilli: cpu * 1000, memoryBytes: memGib * GIB, pods: 110 },
    labels: {
      'kubernetes.io/arch': arch,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': rest.name,
      ...(g && { 'slicer/hostgroup': g }),
    },
    taints: [],
    ready: true,
    unschedulable: false,
    createdAt: NOW - 60 * MIN,
    annotations: {},
    ...rest,
  };
}

let counter = 0;
/** A ReplicaSet pod requesting `cpu` millicores and `memMib` MiB, running on `on` or pending if not given. */
export function pod(o: Partial<PodInfo> & { cpu?: number; memMib?: number; on?: string } = {}): PodInfo {
  const { cpu = 100, memMib = 128, on, ...rest } = o;
  counter += 1;
  return {
    namespace: 'default',
    name: `pod-${counter}`,
    nodeName: on,
    phase: on ? 'Running' : 'Pending',
    unschedulable: !on,
    // Refused by the scheduler a moment ago: well inside --trust-scheduler-after unless a test says otherwise.
    ...(!on && { unschedulableSince: NOW - 5_000 }),
    createdAt: NOW - 5 * MIN,
    priority: 0,
    ownerKind: 'ReplicaSet',
    requests: { cpuMilli: cpu, memoryBytes: memMib * 2 ** 20 },
    nodeSelector: {},
    tolerations: [],
    hasLocalStorage: false,
    labels: {},
    annotations: {},
    isDaemonSet: false,
    isMirror: false,
    deleting: false,
    ...rest,
  };
}

export function pdb(o: Partial<PdbInfo> & { matchLabels: Record<string, string> }): PdbInfo {
  return { namespace: 'default', name: 'pdb', matchExpressions: [], disruptionsAllowed: 0, ...o };
}

export function input(
  o: Partial<Omit<PlannerInput, 'options' | 'state'>> & {
    options?: Partial<PlannerInput['options']>;
    state?: Partial<PlannerInput['state']>;
  } = {},
): PlannerInput {
  return {
    now: NOW,
    nodes: [],
    pods: [],
    pdbs: [],
    groups: [],
    ...o,
    state: {
      paused: false,
      pausedGroups: [],
      unneededSince: {},
      backoffUntil: {},
      inFlight: {},
      nodesBeingRemoved: [],
      held: [],
      ...o.state,
    },
    options: { ...DEFAULT_PLANNER_OPTIONS, ...o.options },
  };
}

/** A real node's room as the simulation sees it, with no pods on it. */
export function bin(name: string, cpuMilli: number, labels: Record<string, string> = {}): Bin {
  return {
    name,
    free: { cpuMilli, memoryBytes: 8 * GIB, pods: 110 },
    labels: { 'kubernetes.io/hostname': name, ...labels },
    taints: [],
    pods: [],
    ports: [],
    createdAt: NOW - 60 * MIN,
    accepts: true,
    virtual: false,
  };
}

/** Pods by plain equivalence, as the planner groups them when no anti-affinity is in play. */
export function byClass(pods: PodInfo[]): PodInfo[][] {
  return classes(pods, equivalenceKey);
}
