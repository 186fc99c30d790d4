import { describe, expect, it } from 'vitest';
import { plan } from '../../../src/planner/index.js';
import { MIN, NOW, group, input, node, pdb, pod } from './builders.js';

// Two managed nodes: `a` lightly used, `b` with room to take a's pods. Unneeded long enough unless a test says not.
const g = group({ name: 'x86' });
const a = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
const b = node({ name: 'x86-2-bbbbbbbb', group: 'x86' });
const longAgo = { unneededSince: { [a.name]: NOW - 11 * MIN, [b.name]: NOW - 11 * MIN } };

function verdict(p: ReturnType<typeof plan>, n: string) {
  return p.nodeVerdicts[n];
}

describe('scale-down: candidates', () => {
  it('removes an empty node that has been unneeded for the unneeded time, first among candidates', () => {
    const p = plan(input({ groups: [g], nodes: [a, b], pods: [pod({ on: b.name, cpu: 200 })], state: longAgo }));
    expect(p.scaleDowns[0]).toMatchObject({ node: a.name, empty: true, group: 'x86', hostname: 'x86-1' });
    expect(verdict(p, a.name)).toMatchObject({ kind: 'removable' });
  });

  it('moves pods in simulation to a node that stays', () => {
    const p1 = pod({ on: a.name, cpu: 300 });
    const p = plan(input({ groups: [g], nodes: [a, b], pods: [p1, pod({ on: b.name, cpu: 900 })], state: longAgo }));
    expect(p.scaleDowns).toEqual([
      expect.objectContaining({ node: a.name, empty: false, podsToMove: [{ pod: `default/${p1.name}`, to: b.name }] }),
    ]);
    // b is then the only place for a's pods, so b itself stays.
    expect(verdict(p, b.name)?.kind).toBe('kept');
  });

  it('keeps a node at or above the utilization threshold', () => {
    const p = plan(input({ groups: [g], nodes: [a, b], pods: [pod({ on: a.name, cpu: 1000 })], state: longAgo }));
    expect(verdict(p, a.name)).toMatchObject({
      kind: 'kept',
      reason: 'NotUnderutilized',
      message: expect.stringMatching(/50%/),
    });
  });

  it('keeps a node whose pods have nowhere to go, naming the pod', () => {
    const big = pod({ on: a.name, cpu: 900 });
    const p = plan(input({ groups: [g], nodes: [a, b], pods: [big, pod({ on: b.name, cpu: 1500 })], state: longAgo }));
    expect(verdict(p, a.name)).toMatchObject({
      kind: 'kept',
      reason: 'NoPlaceToMovePods',
      blockingPod: `default/${big.name}`,
    });
  });

  it('never lets two removals count on the same free space', () => {
    // Only d (not managed) has the label the pods need, and room for one of them.
    const d = node({ name: 'control-plane', labels: { pool: 'd' }, cpu: 1 });
    const pods = [
      pod({ on: a.name, cpu: 600, nodeSelector: { pool: 'd' } }),
      pod({ on: b.name, cpu: 600, nodeSelector: { pool: 'd' } }),
    ];
    const p = plan(input({ groups: [g], nodes: [a, b, d], pods, state: longAgo }));
    expect(p.scaleDowns).toHaveLength(1);
    expect(Object.values(p.nodeVerdicts).map((v) => v.reason)).toContain('NoPlaceToMovePods');
  });

  it('keeps a node that pods of a removed node move to', () => {
    const p = plan(
      input({
        groups: [g],
        nodes: [a, b],
        pods: [pod({ on: a.name, cpu: 300 }), pod({ on: b.name, cpu: 300 })],
        state: longAgo,
      }),
    );
    expect(p.scaleDowns).toHaveLength(1);
    expect(verdict(p, b.name)?.reason).toBe('TakesPodsOfRemovedNode');
  });

  it('counts unneeded time and says how long is left', () => {
    const p = plan(input({ groups: [g], nodes: [a, b], state: { unneededSince: { [a.name]: NOW - 4 * MIN } } }));
    expect(p.scaleDowns).toEqual([]);
    expect(verdict(p, a.name)).toMatchObject({
      kind: 'unneeded',
      reason: 'NotUnneededLongEnough',
      message: expect.stringMatching(/unneeded for 4m00s, removable after 10m00s/),
    });
    expect(p.unneeded[a.name]).toBe(NOW - 4 * MIN);
    const fresh = plan(input({ groups: [g], nodes: [a, b] }));
    expect(fresh.unneeded[a.name]).toBe(NOW);
  });
});

describe('scale-down: blockers, each reported', () => {
  const cases: [string, Parameters<typeof pod>[0], string][] = [
    ['local storage without safe-to-evict', { hasLocalStorage: true }, 'LocalStorageRequested'],
    ['a pod with no controller', { ownerKind: undefined }, 'NotReplicated'],
    ['a kube-system pod without a PDB', { namespace: 'kube-system' }, 'UnmovableKubeSystemPod'],
    [
      'safe-to-evict: "false"',
      { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } },
      'NotSafeToEvictAnnotation',
    ],
  ];
  it.each(cases)('%s', (_name, override, reason) => {
    const blocker = pod({ on: a.name, ...override });
    const p = plan(input({ groups: [g], nodes: [a, b], pods: [blocker], state: longAgo }));
    expect(verdict(p, a.name)).toMatchObject({
      kind: 'kept',
      reason,
      blockingPod: `${blocker.namespace}/${blocker.name}`,
    });
    expect(p.scaleDowns.map((s) => s.node)).not.toContain(a.name);
  });

  it('safe-to-evict: "true" lifts local storage and no-controller blocks', () => {
    const p1 = pod({
      on: a.name,
      hasLocalStorage: true,
      ownerKind: undefined,
      annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' },
    });
    const stays = node({ name: 'control-plane' });
    expect(
      plan(input({ groups: [g], nodes: [a, stays], pods: [p1], state: longAgo })).scaleDowns.map((s) => s.node),
    ).toEqual([a.name]);
  });

  it('a PDB with no disruptions allowed', () => {
    const guarded = pod({ on: a.name, labels: { app: 'db' } });
    const p = plan(
      input({
        groups: [g],
        nodes: [a, b],
        pods: [guarded],
        pdbs: [pdb({ name: 'db', matchLabels: { app: 'db' } })],
        state: longAgo,
      }),
    );
    expect(verdict(p, a.name)).toMatchObject({
      reason: 'NotEnoughPdb',
      message: expect.stringMatching(/default\/db allows 0/),
    });
  });

  it('a PDB budget is spent across nodes in the same plan', () => {
    const c = node({ name: 'x86-3-cccccccc', group: 'x86', cpu: 8 });
    const pods = [pod({ on: a.name, labels: { app: 'web' } }), pod({ on: b.name, labels: { app: 'web' } })];
    const p = plan(
      input({
        groups: [g],
        nodes: [a, b, c],
        pods,
        pdbs: [pdb({ matchLabels: { app: 'web' }, disruptionsAllowed: 1 })],
        state: longAgo,
      }),
    );
    expect(p.scaleDowns.filter((s) => s.node !== c.name)).toHaveLength(1);
  });

  it('the scale-down-disabled node annotation', () => {
    const off = node({ ...a, annotations: { 'cluster-autoscaler.kubernetes.io/scale-down-disabled': 'true' } });
    expect(verdict(plan(input({ groups: [g], nodes: [off, b], state: longAgo })), a.name)).toMatchObject({
      reason: 'ScaleDownDisabledAnnotation',
    });
  });

  it('the group at min size', () => {
    const p = plan(input({ groups: [group({ name: 'x86', minSize: 2 })], nodes: [a, b], state: longAgo }));
    expect(p.scaleDowns).toEqual([]);
    expect(verdict(p, a.name)).toMatchObject({
      reason: 'NodeGroupMinSizeReached',
      message: expect.stringMatching(/min-size is 2/),
    });
  });

  it('does not count a node already being removed towards min size', () => {
    // min 1, two nodes, b already on its way out: removing a as well would leave the group empty.
    const p = plan(
      input({
        groups: [group({ name: 'x86', minSize: 1 })],
        nodes: [a, b],
        state: { ...longAgo, nodesBeingRemoved: [b.name] },
      }),
    );
    expect(p.scaleDowns).toEqual([]);
    expect(verdict(p, a.name)).toMatchObject({
      reason: 'NodeGroupMinSizeReached',
      message: expect.stringMatching(/has 1 node/),
    });
  });

  it('an operator hold, a paused group, a node already being removed', () => {
    expect(
      verdict(plan(input({ groups: [g], nodes: [a, b], state: { ...longAgo, held: [a.name] } })), a.name)?.reason,
    ).toBe('HeldByOperator');
    expect(
      verdict(plan(input({ groups: [g], nodes: [a, b], state: { ...longAgo, pausedGroups: ['x86'] } })), a.name)
        ?.reason,
    ).toBe('Paused');
    expect(
      verdict(plan(input({ groups: [g], nodes: [a, b], state: { ...longAgo, nodesBeingRemoved: [a.name] } })), a.name)
        ?.reason,
    ).toBe('BeingRemoved');
  });
});

describe('scale-down: pods that do not hold a node', () => {
  it('DaemonSet and mirror pods do not hold a node', () => {
    const pods = [
      pod({ on: a.name, isDaemonSet: true, ownerKind: 'DaemonSet', cpu: 1500 }),
      pod({ on: a.name, isMirror: true, ownerKind: undefined }),
    ];
    expect(plan(input({ groups: [g], nodes: [a, b], pods, state: longAgo })).scaleDowns[0]).toMatchObject({
      node: a.name,
      empty: true,
    });
  });

  it('a pod already terminating neither blocks the node nor needs a place', () => {
    const leaving = pod({ on: a.name, ownerKind: undefined, deleting: true });
    const p = plan(input({ groups: [g], nodes: [a, b], pods: [leaving], state: longAgo }));
    expect(p.scaleDowns[0]).toMatchObject({ node: a.name, empty: true, podsToMove: [] });
  });

  it('expendable pods do not block', () => {
    const pods = [pod({ on: a.name, priority: -100, ownerKind: undefined, cpu: 900 })];
    expect(plan(input({ groups: [g], nodes: [a], pods, state: longAgo })).scaleDowns.map((s) => s.node)).toEqual([
      a.name,
    ]);
  });
});

describe('scale-down: cooldowns and gates', () => {
  it.each([
    ['after add (10m)', { lastScaleUpAt: NOW - 9 * MIN }, /after a scale-up/],
    ['after failure (3m)', { lastScaleDownFailureAt: NOW - 2 * MIN }, /after a failed scale-down/],
  ])('%s blocks removal but keeps the unneeded timer', (_n, state, message) => {
    const p = plan(input({ groups: [g], nodes: [a, b], state: { ...longAgo, ...state } }));
    expect(p.scaleDowns).toEqual([]);
    expect(p.blocked).toMatchObject({ reason: 'ScaleDownInCooldown', message: expect.stringMatching(message) });
    expect(p.unneeded[a.name]).toBe(NOW - 11 * MIN);
    expect(verdict(p, a.name)).toMatchObject({ kind: 'unneeded', reason: 'ScaleDownInCooldown' });
  });

  it('after delete defaults to 0s', () => {
    expect(
      plan(input({ groups: [g], nodes: [a, b], state: { ...longAgo, lastScaleDownAt: NOW - 1000 } })).scaleDowns.length,
    ).toBeGreaterThan(0);
  });

  it('bounds how many nodes leave at once', () => {
    const nodes = Array.from({ length: 6 }, (_, i) => node({ name: `x86-${i}-aaaaaaaa`, group: 'x86' }));
    const p = plan(
      input({
        groups: [g],
        nodes,
        state: { unneededSince: Object.fromEntries(nodes.map((n) => [n.name, 0])) },
        options: { maxScaleDownParallelism: 2 },
      }),
    );
    expect(p.scaleDowns).toHaveLength(2);
    expect(Object.values(p.nodeVerdicts).filter((v) => v.reason === 'ParallelismLimit').length).toBeGreaterThan(0);
  });

  it('removes a NotReady node after the unready time even if not underutilized', () => {
    const sick = node({ ...a, ready: false, notReadySince: NOW - 21 * MIN });
    const pods = [pod({ on: a.name, cpu: 1900 })];
    const p = plan(input({ groups: [g], nodes: [sick, node({ name: 'control-plane', cpu: 4 })], pods }));
    expect(p.scaleDowns[0]?.node).toBe(a.name);
    const early = plan(
      input({ groups: [g], nodes: [node({ ...a, ready: false, notReadySince: NOW - 5 * MIN }), b], pods }),
    );
    expect(verdict(early, a.name)).toMatchObject({ reason: 'UnreadyNotLongEnough' });
  });

  it('stops all scale-down when too many nodes are unready (more than 45% and more than 3)', () => {
    const sick = Array.from({ length: 4 }, (_, i) => node({ name: `u-${i}`, ready: false, notReadySince: 0 }));
    const p = plan(input({ groups: [g], nodes: [a, b, ...sick], state: longAgo }));
    expect(p.blocked).toMatchObject({ reason: 'TooManyUnreadyNodes' });
    expect(p.scaleDowns).toEqual([]);
    const three = plan(input({ groups: [g], nodes: [a, b, ...sick.slice(0, 3)], state: longAgo }));
    expect(three.blocked).toBeUndefined();
  });

  it('needs both: more than 3 unready nodes is fine while they are at most 45% of the cluster', () => {
    const sick = Array.from({ length: 4 }, (_, i) => node({ name: `u-${i}`, ready: false, notReadySince: 0 }));
    const well = Array.from({ length: 6 }, (_, i) => node({ name: `w-${i}` }));
    const p = plan(input({ groups: [g], nodes: [a, b, ...well, ...sick], state: longAgo }));
    expect(p.blocked).toBeUndefined();
    expect(p.scaleDowns.length).toBeGreaterThan(0);
  });

  it('scale-down disabled: nothing is removed, and the plan and every managed node say so', () => {
    const p = plan(input({ groups: [g], nodes: [a, b], state: longAgo, options: { scaleDownEnabled: false } }));
    expect(p.scaleDowns).toEqual([]);
    expect(p.blocked).toMatchObject({ reason: 'ScaleDownDisabled' });
    expect([verdict(p, a.name)?.reason, verdict(p, b.name)?.reason]).toEqual([
      'ScaleDownDisabled',
      'ScaleDownDisabled',
    ]);
  });

  it('drops a node from the unneeded timers once it is needed again', () => {
    const busy = [pod({ on: a.name, cpu: 1500 }), pod({ on: b.name, cpu: 1500 })];
    const p = plan(input({ groups: [g], nodes: [a, b], pods: busy, state: longAgo }));
    expect(p.unneeded).toEqual({});
  });

  it('paused: nothing is removed and every managed node says why', () => {
    const p = plan(input({ groups: [g], nodes: [a, b], state: { ...longAgo, paused: true } }));
    expect(p.scaleDowns).toEqual([]);
    expect(verdict(p, a.name)?.reason).toBe('Paused');
  });

  it('never removes a node pending pods are about to land on', () => {
    const pending = pod({ cpu: 1500 });
    const p = plan(input({ groups: [g], nodes: [a], pods: [pending], state: longAgo }));
    expect(p.scaleDowns).toEqual([]);
    expect(verdict(p, a.name)?.reason).toBe('AwaitingPendingPods');
  });
});
