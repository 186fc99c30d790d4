import {
  DEFAULT_PLANNER_OPTIONS,
  plan,
  type GroupInfo,
  type NodeInfo,
  type PlannerInput,
  type PodInfo,
} from '../src/planner/index.js';

const GIB = 1024 ** 3;
const NOW = 1_800_000_000_000;

/**
 * A cluster of `nodes` managed nodes with `podsPerNode` pods each, plus `pending` pods spread over `groups` groups.
 * With `constrained`, one app in eight carries a scheduling constraint: hostname anti-affinity (apps 0-9 of 200),
 * topology spread over slicer/hostgroup (10-19) or a host port (20-24), running and pending pods alike.
 */
export function syntheticCluster(
  nodes: number,
  podsPerNode: number,
  pending: number,
  groupCount: number,
  constrained = false,
): PlannerInput {
  const groups: GroupInfo[] = Array.from({ length: groupCount }, (_, i) => ({
    name: `group-${i}`,
    template: {
      allocatable: { cpuMilli: 16_000, memoryBytes: 64 * GIB, pods: 110 },
      arch: i % 3 === 2 ? 'arm64' : 'amd64',
      labels: { tier: `t${i % 4}` },
      taints: [],
    },
    minSize: 0,
    maxSize: Math.ceil(nodes / groupCount) + 200,
    priority: i % 3,
    scaleDownUnneededTimeMs: 600_000,
    scaleDownUtilizationThreshold: 0.5,
  }));
  const nodeList: NodeInfo[] = [];
  const pods: PodInfo[] = [];
  // Every pod is one object literal with the same keys in the same order, as src/kube/snapshot.ts builds them.
  // NOTE: building them with `{ ...base, name, requests }` instead made V8 fall back to slow objects and the
  // planner 3-5x slower on the same data: a cost of this synthetic input that production never pays.
  const app = (i: number) => i % 200;
  const selector = (i: number) => ({ matchLabels: { app: `app-${app(i)}` }, matchExpressions: [] });
  const antiAffinity = (i: number): PodInfo['podAntiAffinity'] =>
    constrained && app(i) < 10
      ? [{ selector: selector(i), namespaces: [`ns-${i % 50}`], topologyKey: 'kubernetes.io/hostname' }]
      : undefined;
  const spread = (i: number): PodInfo['topologySpread'] =>
    constrained && app(i) >= 10 && app(i) < 20
      ? [
          {
            maxSkew: 1,
            topologyKey: 'slicer/hostgroup',
            selector: selector(i),
            nodeAffinityPolicy: 'Honor',
            nodeTaintsPolicy: 'Ignore',
          },
        ]
      : undefined;
  const ports = (i: number): PodInfo['hostPorts'] =>
    constrained && app(i) >= 20 && app(i) < 25
      ? [{ port: 8000 + app(i), protocol: 'TCP', hostIP: '0.0.0.0' }]
      : undefined;
  const makePod = (
    i: number,
    name: string,
    nodeName: string | undefined,
    requests: PodInfo['requests'],
    nodeSelector: Record<string, string>,
  ): PodInfo => ({
    namespace: `ns-${i % 50}`,
    name,
    nodeName,
    phase: nodeName ? 'Running' : 'Pending',
    unschedulable: !nodeName,
    // A burst: the scheduler refused the pending pods seconds ago, well inside --trust-scheduler-after.
    unschedulableSince: nodeName ? undefined : NOW - 5_000,
    createdAt: NOW - 3_600_000,
    priority: 0,
    ownerKind: 'ReplicaSet',
    requests,
    nodeSelector,
    requiredAffinity: undefined,
    tolerations: [],
    hasLocalStorage: i % 97 === 0,
    labels: { app: `app-${app(i)}` },
    annotations: {},
    isDaemonSet: false,
    isMirror: false,
    deleting: false,
    podAffinity: undefined,
    podAntiAffinity: antiAffinity(i),
    topologySpread: spread(i),
    hostPorts: ports(i),
    unsupported: undefined,
  });
  for (let n = 0; n < nodes; n++) {
    const g = groups[n % groupCount]!;
    const name = `${g.name}-${n}-0123abcd`;
    nodeList.push({
      name,
      group: g.name,
      hostname: `${g.name}-${n}`,
      allocatable: { ...g.template.allocatable },
      labels: { 'kubernetes.io/arch': g.template.arch, 'slicer/hostgroup': g.name, ...g.template.labels },
      taints: [],
      ready: true,
      unschedulable: false,
      createdAt: NOW - 7_200_000,
      annotations: {},
    });
    // Every 4th node is lightly used, so scale-down has candidates to simulate.
    const light = n % 4 === 0;
    for (let p = 0; p < podsPerNode; p++) {
      const i = n * podsPerNode + p;
      const requests = {
        cpuMilli: light ? 50 : 400 + (i % 5) * 20,
        memoryBytes: (light ? 64 : 1024 + (i % 7) * 64) * 2 ** 20,
      };
      pods.push(makePod(i, `run-${i}`, name, requests, {}));
    }
  }
  for (let i = 0; i < pending; i++) {
    const arm = i % 10 === 0;
    const requests = { cpuMilli: 250 * (1 + (i % 8)), memoryBytes: (512 + (i % 6) * 256) * 2 ** 20 };
    const selector: Record<string, string> = arm ? { 'kubernetes.io/arch': 'arm64' } : { tier: `t${i % 4}` };
    pods.push(makePod(i, `pending-${i}`, undefined, requests, selector));
  }
  return {
    now: NOW,
    nodes: nodeList,
    pods,
    pdbs: Array.from({ length: 100 }, (_, i) => ({
      namespace: `ns-${i % 50}`,
      name: `pdb-${i}`,
      matchLabels: { app: `app-${i * 2}` },
      matchExpressions: [],
      disruptionsAllowed: i % 3,
    })),
    groups,
    state: {
      paused: false,
      pausedGroups: [],
      // Steady state: every node's timer started an hour ago, so the whole removal path runs, not just the check.
      unneededSince: Object.fromEntries(nodeList.map((n) => [n.name, NOW - 3_600_000])),
      backoffUntil: {},
      inFlight: {},
      nodesBeingRemoved: [],
      held: [],
    },
    options: { ...DEFAULT_PLANNER_OPTIONS },
  };
}

export interface BenchRow {
  name: string;
  nodes: number;
  pods: number;
  pending: number;
  medianMs: number;
  p90Ms: number;
  runs: number;
  scaleUps: number;
  scaleDowns: number;
}

/** Plans each size `runs` times (after a warm-up) and reports the median and p90 per plan. */
export function benchPlanner(sizes = [100, 1000, 5000], runs = 9, constrained = false): BenchRow[] {
  return sizes.map((nodes) => {
    const input = syntheticCluster(nodes, 30, 5000, 10, constrained);
    // A few unmeasured plans first, so the JIT has compiled the hot paths before the clock starts.
    const warm = plan(input);
    for (let w = 0; w < 3; w++) plan(input);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      plan(input);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return {
      name: 'planner',
      nodes,
      pods: nodes * 30,
      pending: 5000,
      medianMs: times[Math.floor(times.length / 2)]!,
      p90Ms: times[Math.floor(times.length * 0.9)]!,
      runs,
      scaleUps: warm.scaleUps.reduce((n, s) => n + s.count, 0),
      scaleDowns: warm.scaleDowns.length,
    };
  });
}

/** Runs the planner bench and prints its tables (without and with constraints): time per plan and its growth. */
export function printPlannerBench(): void {
  const runs = 15;
  console.log(`plan() over N nodes x 30 pods, 5,000 pending pods, 10 groups (median of ${runs} runs after a warm-up)`);
  printTable(benchPlanner([100, 1000, 5000], runs));
  console.log('\nthe same with one app in eight constrained (hostname anti-affinity, spread over groups, host ports)');
  printTable(benchPlanner([100, 1000, 5000], runs, true));
}

function printTable(rows: BenchRow[]): void {
  console.log('nodes  running pods  pending  median ms   p90 ms   growth vs previous row  VMs planned  nodes removed');
  let previous: BenchRow | undefined;
  for (const row of rows) {
    const growth = previous
      ? `${(row.medianMs / previous.medianMs).toFixed(2)}x for ${(row.nodes / previous.nodes).toFixed(0)}x nodes`
      : '-';
    console.log(
      [
        String(row.nodes).padStart(5),
        String(row.pods).padStart(12),
        String(row.pending).padStart(7),
        row.medianMs.toFixed(1).padStart(9),
        row.p90Ms.toFixed(1).padStart(7),
        growth.padStart(23),
        String(row.scaleUps).padStart(11),
        String(row.scaleDowns).padStart(13),
      ].join('  '),
    );
    previous = row;
  }
}
