import { describe, expect, it } from 'vitest';
import { plan } from '../../../src/planner/index.js';
import { GIB, MIN, NOW, group, input, node, pod } from './builders.js';

const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

describe('scale-up: which pods count', () => {
  it('only counts pods the scheduler marked Unschedulable', () => {
    const waiting = pod({ unschedulable: false });
    const p = plan(input({ groups: [group({ name: 'x86' })], pods: [waiting] }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(waiting)]).toBeUndefined();
  });

  it('ignores pods below the expendable-pods priority cutoff (-10)', () => {
    const cheap = pod({ priority: -11 });
    const p = plan(input({ groups: [group({ name: 'x86' })], pods: [cheap] }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(cheap)]).toMatchObject({ kind: 'ignored', reason: 'ExpendablePod' });
    expect(plan(input({ groups: [group({ name: 'x86' })], pods: [pod({ priority: -10 })] })).scaleUps).toHaveLength(1);
  });

  it('waits for the optional new-pod delay', () => {
    const young = pod({ unschedulableSince: NOW - 5000 });
    const p = plan(
      input({ groups: [group({ name: 'x86' })], pods: [young], options: { newPodScaleUpDelayMs: 30_000 } }),
    );
    expect(p.podVerdicts[key(young)]).toMatchObject({ kind: 'ignored', reason: 'TooYoung' });
  });

  it('does not scale up for a pod that fits on an existing node', () => {
    const p1 = pod({ cpu: 500 });
    const p = plan(
      input({ groups: [group({ name: 'x86' })], nodes: [node({ name: 'x86-1-aaaaaaaa', group: 'x86' })], pods: [p1] }),
    );
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(p1)]).toMatchObject({ kind: 'fits-existing', reason: 'FitsExistingNode' });
  });

  it('does not count twice pods that fit on VMs already being created', () => {
    const pods = [pod({ cpu: 1500 }), pod({ cpu: 1500 }), pod({ cpu: 1500 })];
    const p = plan(input({ groups: [group({ name: 'x86' })], pods, state: { inFlight: { x86: 2 } } }));
    expect(p.scaleUps).toEqual([{ group: 'x86', count: 1, pods: [key(pods[2]!)], reason: expect.any(String) }]);
    expect(p.podVerdicts[key(pods[0]!)]).toMatchObject({ kind: 'fits-in-flight', group: 'x86' });
  });
});

describe('scale-up: bin-packing onto the template', () => {
  it('packs by cpu, memory and pods per node', () => {
    const pods = Array.from({ length: 7 }, () => pod({ cpu: 600, memMib: 512 }));
    expect(plan(input({ groups: [group({ name: 'x86' })], pods })).scaleUps[0]).toMatchObject({
      group: 'x86',
      count: 3,
    });
    const memHeavy = Array.from({ length: 4 }, () => pod({ cpu: 10, memMib: 3 * 1024 }));
    expect(plan(input({ groups: [group({ name: 'x86' })], pods: memHeavy })).scaleUps[0]!.count).toBe(4);
    const tiny = Array.from({ length: 25 }, () => pod({ cpu: 1, memMib: 1 }));
    const g = group({ name: 'x86' });
    g.template.allocatable.pods = 10;
    expect(plan(input({ groups: [g], pods: tiny })).scaleUps[0]!.count).toBe(3);
  });

  it('honours node selectors and arch, treating x86_64 and amd64 as one', () => {
    const armPod = pod({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } });
    const x86Pod = pod({ nodeSelector: { 'kubernetes.io/arch': 'x86_64' } });
    const p = plan(
      input({ groups: [group({ name: 'x86' }), group({ name: 'arm', arch: 'arm64' })], pods: [armPod, x86Pod] }),
    );
    expect(p.podVerdicts[key(armPod)]).toMatchObject({ kind: 'scale-up', group: 'arm' });
    expect(p.podVerdicts[key(x86Pod)]).toMatchObject({ kind: 'scale-up', group: 'x86' });
  });

  it.each([
    ['In', [{ key: 'disk', operator: 'In' as const, values: ['ssd'] }], ['ssd']],
    ['NotIn', [{ key: 'disk', operator: 'NotIn' as const, values: ['ssd'] }], ['hdd', 'gpu']],
    ['Exists', [{ key: 'gpu', operator: 'Exists' as const }], ['gpu']],
    ['DoesNotExist', [{ key: 'gpu', operator: 'DoesNotExist' as const }], ['ssd', 'hdd']],
  ])('honours required node affinity %s', (_op, term, allowed) => {
    const groups = [
      group({
        name: 'ssd',
        template: {
          allocatable: { cpuMilli: 2000, memoryBytes: 4 * GIB, pods: 110 },
          arch: 'amd64',
          labels: { disk: 'ssd' },
          taints: [],
        },
      }),
      group({
        name: 'hdd',
        template: {
          allocatable: { cpuMilli: 2000, memoryBytes: 4 * GIB, pods: 110 },
          arch: 'amd64',
          labels: { disk: 'hdd' },
          taints: [],
        },
      }),
      group({
        name: 'gpu',
        template: {
          allocatable: { cpuMilli: 2000, memoryBytes: 4 * GIB, pods: 110 },
          arch: 'amd64',
          labels: { gpu: 'true' },
          taints: [],
        },
      }),
    ];
    const p1 = pod({ requiredAffinity: [term] });
    // Every group is tried: with each group alone, only the allowed ones can take the pod.
    for (const g of groups) {
      const verdict = plan(input({ groups: [g], pods: [p1] })).podVerdicts[key(p1)];
      expect(verdict?.kind === 'scale-up', `${g.name}`).toBe(allowed.includes(g.name));
    }
  });

  it('honours taints and tolerations', () => {
    const tainted = group({
      name: 'batch',
      template: {
        allocatable: { cpuMilli: 2000, memoryBytes: 4 * GIB, pods: 110 },
        arch: 'amd64',
        labels: {},
        taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
      },
    });
    const plain = pod();
    const tolerant = pod({
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }],
    });
    const p = plan(input({ groups: [tainted], pods: [plain, tolerant] }));
    expect(p.podVerdicts[key(tolerant)]).toMatchObject({ kind: 'scale-up', group: 'batch' });
    expect(p.podVerdicts[key(plain)]).toMatchObject({
      kind: 'no-scale-up',
      reason: 'UntoleratedTaint',
      message: expect.stringMatching(/dedicated=batch:NoSchedule/),
    });
  });
});

describe('scale-up: expanders', () => {
  const small = group({ name: 'small', cpu: 2, memGib: 4, priority: 1 });
  const big = group({ name: 'big', cpu: 8, memGib: 16, priority: 5 });
  const pods = () => Array.from({ length: 3 }, () => pod({ cpu: 1800, memMib: 3500 }));

  it('least-waste (default) picks the group with the least idle capacity', () => {
    expect(plan(input({ groups: [small, big], pods: pods() })).scaleUps[0]).toMatchObject({ group: 'small', count: 3 });
  });
  it('priority picks the highest priority', () => {
    expect(
      plan(input({ groups: [small, big], pods: pods(), options: { expander: 'priority' } })).scaleUps[0],
    ).toMatchObject({ group: 'big', count: 1 });
  });
  it('most-pods picks the group that takes the most pods', () => {
    const capped = group({ ...small, name: 'small', maxSize: 1 });
    expect(
      plan(input({ groups: [capped, big], pods: pods(), options: { expander: 'most-pods' } })).scaleUps[0]!.group,
    ).toBe('big');
  });
  it('chains break ties: priority,least-waste', () => {
    const a = group({ name: 'a', cpu: 8, memGib: 16, priority: 5 });
    const b = group({ name: 'b', cpu: 2, memGib: 4, priority: 5 });
    expect(
      plan(input({ groups: [a, b, small], pods: pods(), options: { expander: 'priority,least-waste' } })).scaleUps[0]!
        .group,
    ).toBe('b');
  });
  it('random is reproducible for the same input', () => {
    const groups = [group({ name: 'a' }), group({ name: 'b' }), group({ name: 'c' })];
    const ps = pods();
    const first = plan(input({ groups, pods: ps, options: { expander: 'random' } })).scaleUps[0]!.group;
    for (let i = 0; i < 5; i++)
      expect(plan(input({ groups, pods: ps, options: { expander: 'random' } })).scaleUps[0]!.group).toBe(first);
  });
});

describe('scale-up: limits', () => {
  it('never goes above max-size', () => {
    const pods = Array.from({ length: 10 }, () => pod({ cpu: 1500 }));
    const p = plan(
      input({
        groups: [group({ name: 'x86', maxSize: 4 })],
        nodes: [node({ name: 'x86-1-aaaaaaaa', group: 'x86', cpu: 1 })],
        pods,
        state: { inFlight: { x86: 1 } },
      }),
    );
    expect(p.scaleUps).toEqual([expect.objectContaining({ group: 'x86', count: 2 })]);
    const left = Object.values(p.podVerdicts).filter((v) => v.kind === 'no-scale-up');
    expect(left.length).toBeGreaterThan(0);
    expect(left[0]).toMatchObject({ reason: 'MaxSizeReached' });
  });

  it('never goes above max-nodes-total', () => {
    const pods = Array.from({ length: 10 }, () => pod({ cpu: 1500 }));
    const p = plan(
      input({
        groups: [group({ name: 'a' }), group({ name: 'b' })],
        nodes: [node({ name: 'cp' })],
        pods,
        options: { maxNodesTotal: 4 },
      }),
    );
    expect(p.scaleUps.reduce((n, s) => n + s.count, 0)).toBe(3);
  });

  it('skips a group in backoff and a paused group, and says so', () => {
    const p1 = pod();
    const p = plan(
      input({
        groups: [group({ name: 'a' }), group({ name: 'b' })],
        pods: [p1],
        state: { backoffUntil: { a: NOW + MIN }, pausedGroups: ['b'] },
      }),
    );
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(p1)]).toMatchObject({
      reason: 'NoGroupAvailable',
      message: expect.stringMatching(/a: in backoff.*b: paused/),
    });
    const later = plan(input({ groups: [group({ name: 'a' })], pods: [p1], state: { backoffUntil: { a: NOW - 1 } } }));
    expect(later.scaleUps).toHaveLength(1);
  });

  it('does nothing while the autoscaler is paused, and says so', () => {
    const p1 = pod();
    const p = plan(input({ groups: [group({ name: 'a' })], pods: [p1], state: { paused: true } }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(p1)]).toMatchObject({ reason: 'AutoscalerPaused' });
  });
});

describe('scale-up: why not', () => {
  it('says by how much a pod is too big for every template', () => {
    const huge = pod({ cpu: 6000, memMib: 2048 });
    const p = plan(
      input({ groups: [group({ name: 'small', cpu: 2 }), group({ name: 'large', cpu: 4, memGib: 8 })], pods: [huge] }),
    );
    expect(p.podVerdicts[key(huge)]).toEqual({
      kind: 'no-scale-up',
      reason: 'TooBigForEveryTemplate',
      message: 'requests 6 CPU and 2 GiB; the largest template (large: 4 CPU, 8 GiB) is 2 CPU short',
    });
  });

  it('says no group matches the selector or affinity', () => {
    const p1 = pod({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } });
    const p = plan(input({ groups: [group({ name: 'x86' })], pods: [p1] }));
    expect(p.podVerdicts[key(p1)]).toMatchObject({
      reason: 'NoGroupMatchesSelector',
      message: expect.stringMatching(/x86: node selector\/affinity does not match \(arch amd64\)/),
    });
  });
  it("lists each group's own reason when they refuse a pod for different reasons", () => {
    const p1 = pod({ cpu: 3000, nodeSelector: { 'kubernetes.io/arch': 'amd64' } });
    const p = plan(
      input({ groups: [group({ name: 'arm', arch: 'arm64', cpu: 8 }), group({ name: 'x86' })], pods: [p1] }),
    );
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(p1)]).toMatchObject({
      kind: 'no-scale-up',
      reason: 'NoGroupFits',
      message: expect.stringMatching(/arm: node selector\/affinity does not match.*x86: too small \(2 CPU, 4 GiB\)/),
    });
  });

  it('says when every fitting group is in backoff', () => {
    const p1 = pod({ cpu: 500 });
    const p = plan(
      input({ groups: [group({ name: 'x86' })], pods: [p1], state: { backoffUntil: { x86: NOW + MIN } } }),
    );
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(p1)]).toMatchObject({
      reason: 'NoGroupAvailable',
      message: expect.stringMatching(/backoff/),
    });
  });
});

describe('scale-up: balancing similar groups', () => {
  it('splits a scale-up across groups with the same template so no single Slicer host takes every VM', () => {
    const pods = Array.from({ length: 6 }, () => pod({ cpu: 1500, nodeSelector: { 'kubernetes.io/arch': 'amd64' } }));
    const groups = [group({ name: 'host-a' }), group({ name: 'host-b' }), group({ name: 'arm', arch: 'arm64' })];
    const p = plan(input({ groups, pods, options: { balanceSimilarNodeGroups: true } }));
    expect(p.scaleUps.map((s) => [s.group, s.count])).toEqual([
      ['host-a', 3],
      ['host-b', 3],
    ]);
    const off = plan(input({ groups, pods }));
    expect(off.scaleUps).toHaveLength(1);
    expect(off.scaleUps[0]).toMatchObject({ group: expect.stringMatching(/^host-[ab]$/), count: 6 });
  });

  it('balances toward the smaller group, within max-size', () => {
    const pods = Array.from({ length: 4 }, () => pod({ cpu: 1500 }));
    const groups = [group({ name: 'host-a' }), group({ name: 'host-b', maxSize: 1 })];
    const nodes = [
      node({ name: 'host-a-1-aaaaaaaa', group: 'host-a', cpu: 0.1 }),
      node({ name: 'host-a-2-aaaaaaaa', group: 'host-a', cpu: 0.1 }),
    ];
    const p = plan(input({ groups, nodes, pods, options: { balanceSimilarNodeGroups: true } }));
    expect(Object.fromEntries(p.scaleUps.map((s) => [s.group, s.count]))).toEqual({ 'host-b': 1, 'host-a': 3 });
  });
});

describe('scale-up: fair ties between identical groups', () => {
  const twins = () => [group({ name: 'host-a' }), group({ name: 'host-b' })];
  const burst = () => Array.from({ length: 4 }, () => pod({ cpu: 1500 }));

  it('gives the scale-up to the group with fewer nodes', () => {
    const nodes = [node({ name: 'host-a-1-aaaaaaaa', group: 'host-a', cpu: 0.1 })];
    for (const seed of [1, 2, 3, 4, 5]) {
      const p = plan(input({ groups: twins(), nodes, pods: burst(), options: { seed } }));
      expect(p.scaleUps.map((s) => s.group)).toEqual(['host-b']);
    }
  });

  it('draws between groups of equal size, so both get used over time, and the same input gives the same plan', () => {
    const pods = burst();
    const picks = new Set<string>();
    for (let t = 0; t < 20; t++) {
      const at = input({ groups: twins(), pods, now: NOW + t * 1000 });
      const p = plan(at);
      expect(plan(structuredClone(at))).toEqual(p);
      picks.add(p.scaleUps[0]!.group);
    }
    expect(picks).toEqual(new Set(['host-a', 'host-b']));
  });
});
