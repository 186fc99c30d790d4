import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plan, type PlannerInput } from '../../../src/planner/index.js';
import { group, input, node, NOW, pod } from './builders.js';

// Random clusters: a few groups, nodes with pods, pending pods, PDBs. Whatever the planner decides must respect
// the limits and never strand a pod.

const arbInput = fc
  .record({
    groups: fc.array(
      fc.record({
        cpu: fc.integer({ min: 1, max: 8 }),
        min: fc.integer({ min: 0, max: 3 }),
        extra: fc.integer({ min: 0, max: 5 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    nodes: fc.array(
      fc.record({
        g: fc.nat(3),
        pods: fc.array(fc.integer({ min: 50, max: 1500 }), { maxLength: 5 }),
        ready: fc.boolean(),
        removing: fc.boolean(),
        terminating: fc.nat(5),
      }),
      { maxLength: 12 },
    ),
    pending: fc.array(fc.record({ cpu: fc.integer({ min: 50, max: 9000 }), prio: fc.integer({ min: -20, max: 10 }) }), {
      maxLength: 15,
    }),
    since: fc.integer({ min: 0, max: 30 * 60_000 }),
    maxTotal: fc.integer({ min: 0, max: 20 }),
    expander: fc.constantFrom('least-waste', 'most-pods', 'priority', 'random', 'priority,least-waste'),
    balance: fc.boolean(),
    inFlight: fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }),
  })
  .map((r): PlannerInput => {
    const groups = r.groups.map((g, i) =>
      group({ name: `g${i}`, cpu: g.cpu, minSize: g.min, maxSize: g.min + g.extra, priority: i }),
    );
    const nodes = r.nodes.map((n, i) => {
      const gi = n.g % groups.length;
      return node({
        name: `g${gi}-${i}-0000000${i % 10}`,
        group: `g${gi}`,
        cpu: groups[gi]!.template.allocatable.cpuMilli / 1000,
        ready: n.ready,
        notReadySince: n.ready ? undefined : NOW - r.since,
      });
    });
    const pods = r.nodes.flatMap((n, i) =>
      n.pods.map((cpu, j) =>
        pod({
          on: nodes[i]!.name,
          cpu: Math.min(cpu, Math.floor(nodes[i]!.allocatable.cpuMilli / 6)),
          deleting: j === n.terminating,
        }),
      ),
    );
    const pending = r.pending.map((p) => pod({ cpu: p.cpu, priority: p.prio }));
    return input({
      groups,
      nodes,
      pods: [...pods, ...pending],
      options: { maxNodesTotal: r.maxTotal, expander: r.expander, balanceSimilarNodeGroups: r.balance },
      state: {
        unneededSince: Object.fromEntries(nodes.map((n) => [n.name, NOW - r.since])),
        nodesBeingRemoved: nodes.filter((_, i) => r.nodes[i]!.removing && i % 3 === 0).map((n) => n.name),
        inFlight: Object.fromEntries(groups.map((g, i) => [g.name, r.inFlight[i]!])),
      },
    });
  });

describe('planner properties', () => {
  it('never plans a group above max-size or below min-size, nor the cluster above max-nodes-total', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const p = plan(inp);
        const leaving = new Set(inp.state.nodesBeingRemoved);
        for (const g of inp.groups) {
          const members = inp.nodes.filter((n) => n.group === g.name);
          const inFlight = inp.state.inFlight[g.name] ?? 0;
          const added = p.scaleUps.filter((s) => s.group === g.name).reduce((n, s) => n + s.count, 0);
          const removed = p.scaleDowns.filter((s) => s.group === g.name).length;
          // Up: everything that exists or is coming counts. Down: nodes already leaving do not count as staying.
          if (added > 0) expect(members.length + inFlight + added).toBeLessThanOrEqual(g.maxSize);
          const staying = members.filter((n) => !leaving.has(n.name)).length + inFlight;
          if (removed > 0) expect(staying - removed).toBeGreaterThanOrEqual(g.minSize);
        }
        if (inp.options.maxNodesTotal > 0) {
          const added = p.scaleUps.reduce((n, s) => n + s.count, 0);
          const inFlight = Object.values(inp.state.inFlight).reduce((a, b) => a + b, 0);
          if (added > 0) expect(inp.nodes.length + inFlight + added).toBeLessThanOrEqual(inp.options.maxNodesTotal);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never removes a node whose pods would have nowhere to go', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const p = plan(inp);
        const removed = new Set(p.scaleDowns.map((s) => s.node));
        // Replay every planned move against the free room of the nodes that stay.
        const free = new Map(
          inp.nodes
            .filter(
              (n) =>
                !removed.has(n.name) && !inp.state.nodesBeingRemoved.includes(n.name) && n.ready && !n.unschedulable,
            )
            .map((n) => [
              n.name,
              n.allocatable.cpuMilli -
                inp.pods.filter((x) => x.nodeName === n.name).reduce((a, x) => a + x.requests.cpuMilli, 0),
            ]),
        );
        for (const s of p.scaleDowns) {
          const movable = inp.pods.filter(
            (x) =>
              x.nodeName === s.node &&
              !x.isDaemonSet &&
              !x.isMirror &&
              !x.deleting &&
              x.priority >= inp.options.expendablePodsPriorityCutoff,
          );
          expect(s.podsToMove.map((m) => m.pod).sort()).toEqual(movable.map((x) => `${x.namespace}/${x.name}`).sort());
          for (const m of s.podsToMove) {
            expect(removed.has(m.to)).toBe(false);
            expect(free.has(m.to)).toBe(true);
            const x = inp.pods.find((q) => `${q.namespace}/${q.name}` === m.pod)!;
            free.set(m.to, free.get(m.to)! - x.requests.cpuMilli);
            expect(free.get(m.to)!).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same plan for the same input, and a verdict to every pending pod and managed node', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const a = plan(structuredClone(inp));
        const b = plan(structuredClone(inp));
        expect(a).toEqual(b);
        for (const x of inp.pods.filter((q) => q.unschedulable && !q.nodeName))
          expect(a.podVerdicts[`${x.namespace}/${x.name}`]).toBeDefined();
        for (const n of inp.nodes.filter((q) => q.group)) expect(a.nodeVerdicts[n.name]).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});
