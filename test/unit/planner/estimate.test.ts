import { describe, expect, it } from 'vitest';
import { classes, estimate, placeOn } from '../../../src/planner/estimate.js';
import { equivalenceKey } from '../../../src/planner/fit.js';
import { World } from '../../../src/planner/world.js';
import { bin, byClass, group, pod } from './builders.js';

const g = group({ name: 'x86', cpu: 4, memGib: 8 });

describe('estimate: first-fit decreasing onto template nodes', () => {
  it.each([
    ['four 1-CPU pods fill one 4-CPU node', [1000, 1000, 1000, 1000], 1],
    ['a fifth needs a second node', [1000, 1000, 1000, 1000, 1000], 2],
    ['3+1 and 3+1 pack into two nodes, largest first', [3000, 3000, 1000, 1000], 2],
    ['three 2.5-CPU pods cannot share', [2500, 2500, 2500], 3],
  ])('%s', (_name, cpus, nodes) => {
    const pods = cpus.map((cpu) => pod({ cpu }));
    const { option, placed } = estimate(new World([], []), g, byClass(pods), 10);
    expect(option.nodeCount).toBe(nodes);
    expect(placed).toHaveLength(cpus.length);
  });

  it('counts pod slots as well as cpu and memory', () => {
    const tiny = group({ name: 'tiny', cpu: 4, memGib: 8 });
    tiny.template.allocatable.pods = 2;
    const { option } = estimate(
      new World([], []),
      tiny,
      byClass([pod({ cpu: 10 }), pod({ cpu: 10 }), pod({ cpu: 10 })]),
      10,
    );
    expect(option.nodeCount).toBe(2);
  });

  it('stops at the node limit it is given and says how many pods it placed', () => {
    const pods = Array.from({ length: 5 }, () => pod({ cpu: 3000 }));
    const { option, placed } = estimate(new World([], []), g, byClass(pods), 2);
    expect(option).toMatchObject({ nodeCount: 2, podCount: 2 });
    expect(placed).toHaveLength(2);
  });

  it('skips pods the template does not admit or is too small for', () => {
    const pods = [pod({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), pod({ cpu: 5000 }), pod({ cpu: 500 })];
    const { option } = estimate(new World([], []), g, byClass(pods), 10);
    expect(option).toMatchObject({ nodeCount: 1, podCount: 1 });
  });

  it('reports how full the new nodes would be, for least-waste', () => {
    const { option } = estimate(new World([], []), g, byClass([pod({ cpu: 3000, memMib: 2048 })]), 10);
    expect(option.cpuUsed).toBeCloseTo(0.75);
    expect(option.memoryUsed).toBeCloseTo(0.25);
  });
});

describe('placeOn: pending pods onto existing room', () => {
  it('fills bins first-fit and returns what did not fit', () => {
    const bins = [bin('a', 1000), bin('b', 2000)];
    const pods = [pod({ cpu: 1000 }), pod({ cpu: 1000 }), pod({ cpu: 1000 }), pod({ cpu: 1000 })];
    const where: string[] = [];
    const left = placeOn(
      new World(bins, []),
      bins,
      byClass(pods),
      () => undefined,
      (_p, b) => where.push(b.name),
    );
    expect(where).toEqual(['a', 'b', 'b']);
    expect(left).toEqual([[pods[3]]]);
    expect(bins.map((b) => b.free.cpuMilli)).toEqual([0, 0]);
  });

  it('only onto bins whose labels the pod selects', () => {
    const bins = [bin('plain', 4000), bin('gpu', 4000, { gpu: 'yes' })];
    const where: string[] = [];
    placeOn(
      new World(bins, []),
      bins,
      [[pod({ nodeSelector: { gpu: 'yes' } })], [pod()]],
      () => undefined,
      (_p, b) => where.push(b.name),
    );
    expect(where).toEqual(['gpu', 'plain']);
  });
});

describe('classes', () => {
  it('groups pods with the same requests and constraints, keeping first-seen order', () => {
    const a1 = pod({ cpu: 500 });
    const b1 = pod({ cpu: 500, tolerations: [{ key: 'x', operator: 'Exists' }] });
    const a2 = pod({ cpu: 500 });
    expect(classes([a1, b1, a2], equivalenceKey)).toEqual([[a1, a2], [b1]]);
  });

  it('never merges pods whose affinity, anti-affinity, spread, host ports or (for those) labels differ', () => {
    const term = (app: string) => ({
      selector: { matchLabels: { app }, matchExpressions: [] },
      namespaces: ['default'],
      topologyKey: 'kubernetes.io/hostname',
    });
    const spread = {
      maxSkew: 1,
      topologyKey: 'zone',
      selector: null,
      nodeAffinityPolicy: 'Honor' as const,
      nodeTaintsPolicy: 'Ignore' as const,
    };
    const pods = [
      pod({ cpu: 500 }),
      pod({ cpu: 500, podAntiAffinity: [term('web')] }),
      pod({ cpu: 500, podAntiAffinity: [term('api')] }),
      pod({ cpu: 500, podAffinity: [term('web')] }),
      pod({ cpu: 500, topologySpread: [spread] }),
      pod({ cpu: 500, hostPorts: [{ port: 80, protocol: 'TCP', hostIP: '0.0.0.0' }] }),
      pod({ cpu: 500, podAntiAffinity: [term('web')], labels: { app: 'web' } }),
    ];
    expect(classes(pods, equivalenceKey)).toHaveLength(pods.length);
    // Once a pod's anti-affinity reads a label, the World also keys plain pods by it: they may be selected.
    const world = new World([], [pods[1]!]);
    const web = pod({ cpu: 500, labels: { app: 'web' } });
    const other = pod({ cpu: 500, labels: { app: 'other' } });
    expect(classes([web, other], (p) => world.classKey(p))).toHaveLength(2);
    expect(classes([web, other], equivalenceKey)).toHaveLength(1);
  });
});
