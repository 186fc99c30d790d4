import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptsPods, nodeBin, podsByNode, type Bin } from '../../../src/planner/cluster.js';
import { portsConflict } from '../../../src/planner/host-ports.js';
import { plan, type PlannerInput, type PodInfo, type PodVerdict } from '../../../src/planner/index.js';
import { planScaleUp } from '../../../src/planner/scale-up.js';
import { termSelects } from '../../../src/planner/topology.js';
import { group, input, MIN, node, NOW, pod } from './builders.js';

// Random clusters with replicas that must not share a node (hostname anti-affinity), pods that spread over zones,
// pods that want the same host port, and plain pods; some already run, some are pending, some VMs are in flight.
// Whatever the planner plans must keep every constraint, in the simulated cluster it plans on and in the moves of
// scale-down, and the same input must give the same plan.

const ZONE = 'topology.kubernetes.io/zone';
const WEB_ANTI = [
  {
    selector: { matchLabels: { app: 'web' }, matchExpressions: [] },
    namespaces: ['default'],
    topologyKey: 'kubernetes.io/hostname',
  },
];
const API_SPREAD = [
  {
    maxSkew: 1,
    topologyKey: ZONE,
    selector: { matchLabels: { app: 'api' }, matchExpressions: [] },
    nodeAffinityPolicy: 'Honor' as const,
    nodeTaintsPolicy: 'Ignore' as const,
  },
];
const PORT = [{ port: 8080, protocol: 'TCP', hostIP: '0.0.0.0' }];

type Kind = 'web' | 'api' | 'port' | 'plain';
const kindOf = fc.constantFrom<Kind>('web', 'api', 'port', 'plain');
function typed(kind: Kind, o: Partial<PodInfo> & { cpu?: number; on?: string }): PodInfo {
  if (kind === 'web') return pod({ labels: { app: 'web' }, podAntiAffinity: WEB_ANTI, ...o });
  if (kind === 'api') return pod({ labels: { app: 'api' }, topologySpread: API_SPREAD, ...o });
  if (kind === 'port') return pod({ labels: { app: 'proxy' }, hostPorts: PORT, ...o });
  return pod({ labels: { app: 'plain' }, ...o });
}

const arbInput = fc
  .record({
    groups: fc.array(
      fc.record({ cpu: fc.integer({ min: 2, max: 8 }), max: fc.integer({ min: 0, max: 6 }), zone: fc.nat(2) }),
      { minLength: 1, maxLength: 3 },
    ),
    nodes: fc.array(
      fc.record({
        g: fc.nat(2),
        // At most one of each constrained kind per node, so the cluster starts out valid; api pods start at 0.
        web: fc.boolean(),
        port: fc.boolean(),
        plain: fc.array(fc.integer({ min: 50, max: 1500 }), { maxLength: 3 }),
        ageMin: fc.integer({ min: 0, max: 120 }),
      }),
      { maxLength: 6 },
    ),
    pending: fc.array(
      fc.record({ kind: kindOf, cpu: fc.integer({ min: 50, max: 3000 }), waitedS: fc.integer({ min: 0, max: 600 }) }),
      { maxLength: 14 },
    ),
    inFlight: fc.array(fc.nat(2), { minLength: 3, maxLength: 3 }),
    balance: fc.boolean(),
    expander: fc.constantFrom('least-waste', 'most-pods', 'random', 'priority,least-waste'),
    seed: fc.nat(1000),
  })
  .map((r): PlannerInput => {
    const groups = r.groups.map((g, i) => {
      const x = group({ name: `g${i}`, cpu: g.cpu, memGib: 16, maxSize: g.max, priority: i % 2 });
      x.template.labels = { [ZONE]: `z${g.zone}` };
      return x;
    });
    const nodes = r.nodes.map((n, i) => {
      const g = groups[n.g % groups.length]!;
      const x = node({
        name: `${g.name}-${i}-0000000${i}`,
        group: g.name,
        cpu: g.template.allocatable.cpuMilli / 1000,
        memGib: 16,
        createdAt: NOW - n.ageMin * MIN,
      });
      x.labels[ZONE] = g.template.labels[ZONE]!;
      return x;
    });
    const running = r.nodes.flatMap((n, i) => {
      const on = nodes[i]!.name;
      return [
        ...(n.web ? [typed('web', { on, cpu: 100 })] : []),
        ...(n.port ? [typed('port', { on, cpu: 100 })] : []),
        ...n.plain.map((cpu) => typed('plain', { on, cpu: Math.min(cpu, 500) })),
      ];
    });
    const pending = r.pending.map((p) => typed(p.kind, { cpu: p.cpu, unschedulableSince: NOW - p.waitedS * 1000 }));
    return input({
      groups,
      nodes,
      pods: [...running, ...pending],
      options: { balanceSimilarNodeGroups: r.balance, expander: r.expander, seed: r.seed },
      state: {
        inFlight: Object.fromEntries(groups.map((g, i) => [g.name, r.inFlight[i]!])),
        unneededSince: Object.fromEntries(nodes.map((n) => [n.name, NOW - 60 * MIN])),
      },
    });
  });

/** Runs scale-up the way plan() does and returns the simulated cluster it leaves, with the verdicts. */
function simulate(inp: PlannerInput): {
  bins: Bin[];
  verdicts: Record<string, PodVerdict>;
  plannedNew: Map<string, number>;
} {
  const byNode = podsByNode(inp.pods);
  const leaving = new Set(inp.state.nodesBeingRemoved);
  const verdicts: Record<string, PodVerdict> = {};
  const up = planScaleUp(
    inp,
    inp.nodes.map((n) => nodeBin(n, byNode.get(n.name), acceptsPods(n, leaving))),
    verdicts,
  );
  const plannedNew = new Map<string, number>();
  for (const s of up.scaleUps) plannedNew.set(s.group, (plannedNew.get(s.group) ?? 0) + s.count);
  return { bins: up.world!.bins.filter((b) => !b.gone), verdicts, plannedNew };
}

function antiAffinityHolds(pods: PodInfo[]): boolean {
  for (const a of pods)
    for (const t of a.podAntiAffinity ?? []) for (const b of pods) if (a !== b && termSelects(t, b)) return false;
  return true;
}

function portsHold(pods: PodInfo[]): boolean {
  const ports = pods.flatMap((p) => p.hostPorts ?? []);
  return ports.every((a, i) => ports.every((b, j) => i === j || !portsConflict(a, b)));
}

describe('planner properties with topology constraints', () => {
  it('never plans two anti-affine pods or two holders of one host port onto one node', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const { bins } = simulate(inp);
        for (const b of bins) {
          expect(antiAffinityHolds(b.pods), `anti-affinity on ${b.name}`).toBe(true);
          expect(portsHold(b.pods), `host ports on ${b.name}`).toBe(true);
          expect(b.free.cpuMilli).toBeGreaterThanOrEqual(b.accepts ? 0 : -Infinity);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never lets the zone skew of the spread pods exceed maxSkew, counting every zone a group could grow into', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const { bins } = simulate(inp);
        const zones = new Map<string, number>();
        for (const b of bins) {
          const z = b.labels[ZONE];
          if (z === undefined) continue;
          zones.set(z, (zones.get(z) ?? 0) + b.pods.filter((p) => p.labels['app'] === 'api').length);
        }
        // A group with room at the start is a domain even with no node: its zone counts with 0 pods.
        for (const g of inp.groups) {
          const size = inp.nodes.filter((n) => n.group === g.name).length + (inp.state.inFlight[g.name] ?? 0);
          if (g.maxSize > size && !zones.has(g.template.labels[ZONE]!)) zones.set(g.template.labels[ZONE]!, 0);
        }
        const counts = [...zones.values()];
        if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('puts each pod where its verdict says, and plans exactly the new nodes it simulated', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const { bins, verdicts, plannedNew } = simulate(inp);
        const where = new Map<PodInfo, Bin>();
        for (const b of bins) for (const p of b.pods) where.set(p, b);
        for (const p of inp.pods.filter((x) => !x.nodeName)) {
          const v = verdicts[`${p.namespace}/${p.name}`]!;
          const b = where.get(p);
          if (v.kind === 'fits-existing') expect(b?.virtual).toBe(false);
          else if (v.kind === 'fits-in-flight') expect(b?.name).toMatch(/being created/);
          else if (v.kind === 'scale-up')
            expect(b && b.virtual && b.group === v.group && /new node/.test(b.name)).toBe(true);
          else expect(b).toBeUndefined();
        }
        const simulatedNew = new Map<string, number>();
        for (const b of bins)
          if (b.virtual && /new node/.test(b.name)) simulatedNew.set(b.group!, (simulatedNew.get(b.group!) ?? 0) + 1);
        expect(simulatedNew).toEqual(plannedNew);
      }),
      { numRuns: 300 },
    );
  });

  it('moves pods off removed nodes only to places that keep anti-affinity and host ports', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        // Scale-down alone: no pending pods, every node unneeded for an hour.
        const running = inp.pods.filter((p) => p.nodeName);
        const p = plan({ ...inp, pods: running });
        const removed = new Set(p.scaleDowns.map((s) => s.node));
        const on = new Map<string, PodInfo[]>();
        for (const x of running)
          if (!removed.has(x.nodeName!)) on.set(x.nodeName!, [...(on.get(x.nodeName!) ?? []), x]);
        const byKey = new Map(running.map((x) => [`${x.namespace}/${x.name}`, x]));
        for (const s of p.scaleDowns)
          for (const m of s.podsToMove) {
            expect(removed.has(m.to)).toBe(false);
            on.set(m.to, [...(on.get(m.to) ?? []), byKey.get(m.pod)!]);
          }
        for (const [name, pods] of on) {
          expect(antiAffinityHolds(pods), `anti-affinity on ${name}`).toBe(true);
          expect(portsHold(pods), `host ports on ${name}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same plan for the same input', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        expect(plan(structuredClone(inp))).toEqual(plan(structuredClone(inp)));
      }),
      { numRuns: 200 },
    );
  });
});
