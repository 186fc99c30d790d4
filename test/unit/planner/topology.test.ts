import { describe, expect, it } from 'vitest';
import {
  plan,
  type GroupInfo,
  type PodAffinityTerm,
  type PodInfo,
  type SpreadConstraint,
} from '../../../src/planner/index.js';
import { group, input, node, pod } from './builders.js';

// Inter-pod affinity, anti-affinity, topology spread and host ports, each against existing nodes, VMs in flight
// and the new nodes of the same plan, as kube-scheduler would judge them.

const key = (p: PodInfo) => `${p.namespace}/${p.name}`;
const term = (app: string, topologyKey: string, namespaces: PodAffinityTerm['namespaces'] = ['default']) => ({
  selector: { matchLabels: { app }, matchExpressions: [] },
  namespaces,
  topologyKey,
});
/** A replica that refuses to share `topologyKey` with another of its app (the classic one-per-node HA rule). */
const loner = (o: Partial<PodInfo> & { cpu?: number; on?: string } = {}, topologyKey = 'kubernetes.io/hostname') =>
  pod({ labels: { app: 'web' }, podAntiAffinity: [term('web', topologyKey)], ...o });
const spread = (topologyKey: string, o: Partial<SpreadConstraint> = {}): SpreadConstraint => ({
  maxSkew: 1,
  topologyKey,
  selector: { matchLabels: { app: 'api' }, matchExpressions: [] },
  nodeAffinityPolicy: 'Honor',
  nodeTaintsPolicy: 'Ignore',
  ...o,
});
const spreader = (
  topologyKey: string,
  o: Partial<PodInfo> & { cpu?: number; on?: string } = {},
  c: Partial<SpreadConstraint> = {},
) => pod({ labels: { app: 'api' }, topologySpread: [spread(topologyKey, c)], ...o });
/** New nodes per group, summed over the plan's scale-ups (a plan may grow a group in several rounds). */
const nodesOf = (p: ReturnType<typeof plan>) => {
  const out: Record<string, number> = {};
  for (const s of p.scaleUps) out[s.group] = (out[s.group] ?? 0) + s.count;
  return out;
};
const zoned = (name: string, zone: string, o: Partial<GroupInfo> = {}) => {
  const g = group({ name, ...o });
  g.template.labels = { 'topology.kubernetes.io/zone': zone };
  return g;
};

describe('pod anti-affinity', () => {
  it('gives 4 replicas with hostname anti-affinity 4 new nodes, although they would fit on one', () => {
    const pods = Array.from({ length: 4 }, () => loner({ cpu: 100 }));
    const p = plan(input({ groups: [group({ name: 'x86' })], pods }));
    expect(p.scaleUps).toEqual([expect.objectContaining({ group: 'x86', count: 4 })]);
    const without = plan(
      input({ groups: [group({ name: 'x86' })], pods: pods.map((x) => ({ ...x, podAntiAffinity: undefined })) }),
    );
    expect(without.scaleUps[0]!.count).toBe(1);
  });

  it('never fits a replica on an existing node that already runs one, but other pods still fit there', () => {
    const n = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
    const running = loner({ on: n.name });
    const next = loner();
    const other = pod({ labels: { app: 'api' } });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [n], pods: [running, next, other] }));
    expect(p.podVerdicts[key(next)]).toMatchObject({ kind: 'scale-up', group: 'x86' });
    expect(p.podVerdicts[key(other)]).toMatchObject({ kind: 'fits-existing' });
  });

  it('honours the anti-affinity of pods already running against the newcomer (both directions)', () => {
    const n = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
    const guard = pod({
      on: n.name,
      labels: { app: 'guard' },
      podAntiAffinity: [term('batch', 'kubernetes.io/hostname')],
    });
    const batch = pod({ labels: { app: 'batch' } });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [n], pods: [guard, batch] }));
    expect(p.podVerdicts[key(batch)]).toMatchObject({ kind: 'scale-up' });
  });

  it('counts VMs in flight as hosts of their own', () => {
    const pods = Array.from({ length: 3 }, () => loner());
    const p = plan(input({ groups: [group({ name: 'x86' })], pods, state: { inFlight: { x86: 2 } } }));
    expect(pods.filter((x) => p.podVerdicts[key(x)]!.kind === 'fits-in-flight')).toHaveLength(2);
    expect(nodesOf(p)).toEqual({ x86: 1 });
  });

  it('counts a joining Node (registered, startup taint still on) as one host in flight', () => {
    const joining = node({
      name: 'x86-1-aaaaaaaa',
      group: 'x86',
      vmId: 'op1-0',
      startupTainted: true,
      taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
    });
    const state = { inFlight: { x86: 1 }, inFlightOps: [{ opId: 'op1', group: 'x86', count: 1 }] };
    const pods = [loner(), loner()];
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [joining], pods, state }));
    expect(pods.map((x) => p.podVerdicts[key(x)]!.kind).sort()).toEqual(['fits-in-flight', 'scale-up']);
    expect(nodesOf(p)).toEqual({ x86: 1 });
    const plain = [pod(), pod()];
    const q = plan(input({ groups: [group({ name: 'x86' })], nodes: [joining], pods: plain, state }));
    expect(plain.map((x) => q.podVerdicts[key(x)]!.kind)).toEqual(['fits-in-flight', 'fits-in-flight']);
  });

  it('with one replica per node group, plans one node in each group and says why the third has none', () => {
    const pods = Array.from({ length: 3 }, () => loner({}, 'slicer/hostgroup'));
    const p = plan(input({ groups: [group({ name: 'a' }), group({ name: 'b' })], pods }));
    expect(nodesOf(p)).toEqual({ a: 1, b: 1 });
    const refused = Object.values(p.podVerdicts).filter((v) => v.kind === 'no-scale-up');
    expect(refused).toEqual([
      expect.objectContaining({
        reason: 'TopologyNotSatisfiable',
        message: expect.stringMatching(/a: pod anti-affinity.*slicer\/hostgroup.*b: pod anti-affinity/),
      }),
    ]);
  });

  it('only counts pods of the namespaces the term names', () => {
    const n = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
    const elsewhere = pod({ on: n.name, namespace: 'other', labels: { app: 'web' } });
    const next = loner();
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [n], pods: [elsewhere, next] }));
    expect(p.podVerdicts[key(next)]).toMatchObject({ kind: 'fits-existing' });
    const everywhere = loner({ podAntiAffinity: [term('web', 'kubernetes.io/hostname', 'all')] });
    const q = plan(input({ groups: [group({ name: 'x86' })], nodes: [n], pods: [elsewhere, everywhere] }));
    expect(q.podVerdicts[key(everywhere)]).toMatchObject({ kind: 'scale-up' });
  });
});

describe('pod affinity', () => {
  const cacheNode = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
  const cache = pod({ on: cacheNode.name, labels: { app: 'cache' } });
  const follower = (o: Partial<PodInfo> & { cpu?: number } = {}) =>
    pod({ podAffinity: [term('cache', 'kubernetes.io/hostname')], ...o });

  it('fits a pod only where a pod it must join runs', () => {
    const empty = node({ name: 'x86-0-00000000', group: 'x86' });
    const f = follower();
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [empty, cacheNode], pods: [cache, f] }));
    expect(p.podVerdicts[key(f)]).toMatchObject({
      kind: 'fits-existing',
      message: expect.stringContaining(cacheNode.name),
    });
  });

  it('plans no node for it when a new node could not have that pod, and says so', () => {
    const f = follower({ cpu: 1950 });
    const full = pod({ on: cacheNode.name, cpu: 1000 });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [cacheNode], pods: [cache, full, f] }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(f)]).toMatchObject({
      reason: 'TopologyNotSatisfiable',
      message: expect.stringMatching(/pod affinity: no pod it must join/),
    });
  });

  it('lets the first of a group with affinity to itself go anywhere, and the rest follow it', () => {
    const pods = Array.from({ length: 3 }, () =>
      pod({ cpu: 1500, labels: { app: 'band' }, podAffinity: [term('band', 'slicer/hostgroup')] }),
    );
    const p = plan(input({ groups: [group({ name: 'a' }), group({ name: 'b' })], pods }));
    expect(p.scaleUps).toHaveLength(1);
    expect(p.scaleUps[0]!.count).toBe(3);
  });

  it('scales the group whose zone holds the pod it must join', () => {
    const b1 = node({ name: 'b-1-bbbbbbbb', group: 'b', cpu: 1 });
    b1.labels['topology.kubernetes.io/zone'] = 'z2';
    const db = pod({ on: b1.name, labels: { app: 'cache' }, cpu: 1000 });
    const f = pod({ podAffinity: [term('cache', 'topology.kubernetes.io/zone')] });
    const p = plan(input({ groups: [zoned('a', 'z1'), zoned('b', 'z2')], nodes: [b1], pods: [db, f] }));
    expect(nodesOf(p)).toEqual({ b: 1 });
  });
});

describe('topology spread (DoNotSchedule)', () => {
  it('spreads over slicer/hostgroup: a group that could grow is a domain before its first node', () => {
    const pods = Array.from({ length: 4 }, () => spreader('slicer/hostgroup', { cpu: 1500 }));
    const p = plan(input({ groups: [group({ name: 'a' }), group({ name: 'b' })], pods }));
    expect(nodesOf(p)).toEqual({ a: 2, b: 2 });
  });

  it('does not count a group at max-size that has no node as a domain (it could never even out)', () => {
    const pods = Array.from({ length: 4 }, () => spreader('slicer/hostgroup', { cpu: 1500 }));
    const p = plan(input({ groups: [group({ name: 'a' }), group({ name: 'b', maxSize: 0 })], pods }));
    expect(nodesOf(p)).toEqual({ a: 4 });
  });

  it('puts the next pod on the existing node with the fewest matching pods (hostname)', () => {
    const n1 = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
    const n2 = node({ name: 'x86-2-bbbbbbbb', group: 'x86' });
    const running = spreader('kubernetes.io/hostname', { on: n1.name });
    const next = spreader('kubernetes.io/hostname');
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [n1, n2], pods: [running, next] }));
    expect(p.podVerdicts[key(next)]).toMatchObject({
      kind: 'fits-existing',
      message: expect.stringContaining(n2.name),
    });
  });

  it('honours minDomains: fewer domains than that count as a minimum of 0', () => {
    const pods = () =>
      Array.from({ length: 3 }, () => spreader('kubernetes.io/hostname', { cpu: 100 }, { minDomains: 3 }));
    expect(plan(input({ groups: [group({ name: 'x86' })], pods: pods() })).scaleUps[0]!.count).toBe(3);
    const plain = Array.from({ length: 3 }, () => spreader('kubernetes.io/hostname', { cpu: 100 }));
    expect(plan(input({ groups: [group({ name: 'x86' })], pods: plain })).scaleUps[0]!.count).toBe(1);
  });

  it('nodeAffinityPolicy: Honor leaves out groups the pod cannot use, Ignore counts them', () => {
    const groups = [group({ name: 'x86' }), group({ name: 'arm', arch: 'arm64' })];
    const x86 = { nodeSelector: { 'kubernetes.io/arch': 'amd64' }, cpu: 1500 };
    const honor = Array.from({ length: 3 }, () => spreader('slicer/hostgroup', x86));
    expect(nodesOf(plan(input({ groups, pods: honor })))).toEqual({ x86: 3 });
    const ignore = Array.from({ length: 3 }, () => spreader('slicer/hostgroup', x86, { nodeAffinityPolicy: 'Ignore' }));
    const p = plan(input({ groups, pods: ignore }));
    expect(nodesOf(p)).toEqual({ x86: 1 });
    // The other two would make the skew 2 against the arm group, which counts but can never take one.
    const left = Object.values(p.podVerdicts).filter((v) => v.kind === 'no-scale-up');
    expect(left).toHaveLength(2);
    expect(left[0]!.message).toMatch(/x86: topology spread over slicer\/hostgroup: skew would be 2, above maxSkew 1/);
  });

  it('nodeTaintsPolicy: Honor leaves out groups whose taints the pod does not tolerate', () => {
    const tainted = group({ name: 'gpu' });
    tainted.template.taints = [{ key: 'gpu', effect: 'NoSchedule' }];
    const groups = [group({ name: 'x86' }), tainted];
    const honor = Array.from({ length: 2 }, () =>
      spreader('slicer/hostgroup', { cpu: 1500 }, { nodeTaintsPolicy: 'Honor' }),
    );
    expect(nodesOf(plan(input({ groups, pods: honor })))).toEqual({ x86: 2 });
    const ignore = Array.from({ length: 2 }, () => spreader('slicer/hostgroup', { cpu: 1500 }));
    expect(nodesOf(plan(input({ groups, pods: ignore })))).toEqual({ x86: 1 });
  });

  it('refuses nodes without the topology key', () => {
    const bare = node({ name: 'cp' });
    const s = spreader('topology.kubernetes.io/zone', { cpu: 100 });
    const p = plan(input({ groups: [zoned('a', 'z1')], nodes: [bare], pods: [s] }));
    expect(p.podVerdicts[key(s)]).toMatchObject({ kind: 'scale-up', group: 'a' });
  });
});

describe('host ports', () => {
  const port80 = { port: 80, protocol: 'TCP', hostIP: '0.0.0.0' };

  it('never puts two pods with the same host port on one node', () => {
    const pods = [pod({ cpu: 100, hostPorts: [port80] }), pod({ cpu: 100, hostPorts: [port80] })];
    expect(plan(input({ groups: [group({ name: 'x86' })], pods })).scaleUps[0]!.count).toBe(2);
  });

  it('compares protocol and address like kube-scheduler: 0.0.0.0 takes every address', () => {
    const n = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
    const holder = pod({ on: n.name, hostPorts: [{ port: 80, protocol: 'TCP', hostIP: '10.0.0.1' }] });
    const udp = pod({ hostPorts: [{ port: 80, protocol: 'UDP', hostIP: '0.0.0.0' }] });
    const otherIp = pod({ hostPorts: [{ port: 80, protocol: 'TCP', hostIP: '10.0.0.2' }] });
    const wildcard = pod({ hostPorts: [port80] });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [n], pods: [holder, udp, otherIp, wildcard] }));
    expect(p.podVerdicts[key(udp)]!.kind).toBe('fits-existing');
    expect(p.podVerdicts[key(otherIp)]!.kind).toBe('fits-existing');
    expect(p.podVerdicts[key(wildcard)]).toMatchObject({ kind: 'scale-up' });
  });
});

describe('constraints the planner cannot judge', () => {
  it('plans nothing for such a pod, not even when an existing node has room, and names the constraint', () => {
    const n = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
    const p1 = pod({ unsupported: ['volume data uses PersistentVolumeClaim pg (volume binding and topology)'] });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [n], pods: [p1] }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(p1)]).toEqual({
      kind: 'no-scale-up',
      reason: 'UnsupportedConstraint',
      message: expect.stringMatching(/PersistentVolumeClaim pg.*cannot judge/),
    });
  });
});

describe('scale-down keeps every constraint when it moves pods', () => {
  const idle = (name: string) => node({ name, group: 'x86', cpu: 4, memGib: 8 });
  const input4 = (nodes: ReturnType<typeof node>[], pods: PodInfo[]) =>
    input({
      groups: [group({ name: 'x86', cpu: 4, memGib: 8 })],
      nodes,
      pods,
      state: { unneededSince: Object.fromEntries(nodes.map((n) => [n.name, 0])) },
    });

  it('moves an anti-affine replica only to a node without one, else keeps its node', () => {
    const [a, b, c] = [idle('x86-a-aaaaaaaa'), idle('x86-b-bbbbbbbb'), idle('x86-c-cccccccc')];
    const busy = (on: string) => pod({ on, cpu: 2500 });
    const onA = loner({ on: a.name });
    const onB = loner({ on: b.name });
    // b holds a replica and c is busy but has room: the replica on a can only go to c.
    const p = plan(input4([a, b, c], [onA, onB, busy(b.name), busy(c.name)]));
    const removeA = p.scaleDowns.find((s) => s.node === a.name);
    expect(removeA?.podsToMove).toEqual([{ pod: key(onA), to: c.name }]);
    // Without c, the replica on a has nowhere to go.
    const q = plan(input4([a, b], [onA, onB, busy(b.name)]));
    expect(q.nodeVerdicts[a.name]).toMatchObject({ reason: 'NoPlaceToMovePods', blockingPod: key(onA) });
  });

  it('lets a pod move to where only its own old node was in the way', () => {
    const [a, b] = [idle('x86-a-aaaaaaaa'), idle('x86-b-bbbbbbbb')];
    // One replica per group: the one on a may move to b once a (the only other holder) is gone.
    const onA = loner({ on: a.name }, 'slicer/hostgroup');
    const p = plan(input4([a, b], [onA, pod({ on: b.name, cpu: 2500 })]));
    expect(p.scaleDowns.map((s) => s.node)).toEqual([a.name]);
  });

  it('never moves a pod onto a node holding its host port', () => {
    const [a, b] = [idle('x86-a-aaaaaaaa'), idle('x86-b-bbbbbbbb')];
    const port = [{ port: 9100, protocol: 'TCP', hostIP: '0.0.0.0' }];
    const p = plan(
      input4([a, b], [pod({ on: a.name, hostPorts: port }), pod({ on: b.name, cpu: 2500, hostPorts: port })]),
    );
    expect(p.nodeVerdicts[a.name]).toMatchObject({ reason: 'NoPlaceToMovePods' });
  });

  it('keeps a node whose pod has a constraint the planner cannot judge', () => {
    const [a, b] = [idle('x86-a-aaaaaaaa'), idle('x86-b-bbbbbbbb')];
    const pvc = pod({
      on: a.name,
      unsupported: ['volume data uses PersistentVolumeClaim pg (volume binding and topology)'],
    });
    const p = plan(input4([a, b], [pvc, pod({ on: b.name, cpu: 2500 })]));
    expect(p.nodeVerdicts[a.name]).toMatchObject({ reason: 'UnsupportedConstraint', blockingPod: key(pvc) });
  });
});

describe('balancing similar groups with topology', () => {
  it('still balances replicas that are one per host (hostname), and never splits them onto one node', () => {
    const pods = Array.from({ length: 4 }, () => loner());
    const p = plan(
      input({
        groups: [group({ name: 'a' }), group({ name: 'b' })],
        pods,
        options: { balanceSimilarNodeGroups: true },
      }),
    );
    expect(nodesOf(p)).toEqual({ a: 2, b: 2 });
    expect(p.scaleUps.flatMap((s) => s.pods).sort()).toEqual(pods.map(key).sort());
  });
});
