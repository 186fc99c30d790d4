import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { createSlicerClient, type SlicerClient } from '../../src/slicer/client.js';
import { buildUserdata, K3S_TOKEN_SECRET } from '../../src/slicer/userdata.js';
import { ClusterJoiner } from '../../src/simulator/join.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { eventually, kubeClients } from './helpers/kube.js';

// A VM created through our client on the simulator joins the real control plane like a k3s agent: a Node with the
// userdata's labels and taints, the group's arch and capacity, made Ready by KWOK; deleting the VM leaves it NotReady.

const GIB = 1024 ** 3;

describe('simulated Slicer VMs join the real cluster', () => {
  const { core } = kubeClients();
  let sim: RunningSimulator;
  let client: SlicerClient;

  beforeAll(async () => {
    sim = await startSimulator({
      token: 'join-test-token',
      hostGroups: [{ name: 'sim-arm', cpus: 4, ramBytes: 8 * GIB, arch: 'aarch64' }],
      joiner: new ClusterJoiner(inject('kubeconfigPath')),
      joinDelayMs: 300,
    });
    client = createSlicerClient({ url: sim.url, token: new Secret('join-test-token') });
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
    for (const n of (await core.listNode({ labelSelector: 'slicer/hostgroup=sim-arm' })).items)
      await core.deleteNode({ name: n.metadata!.name! });
  });

  it('registers a Ready Node with the right labels, taints, arch and capacity; deleting the VM makes it NotReady for good', async () => {
    await client.createSecret(K3S_TOKEN_SECRET, 'k3s-join-token');
    const userdata = buildUserdata({
      group: 'sim-arm',
      k3sUrl: 'https://127.0.0.1:6443',
      labels: { tier: 'batch' },
      taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
    });
    const vm = await client.createVm('sim-arm', { userdata, secrets: [K3S_TOKEN_SECRET], tags: ['test'] });
    expect(vm.hostname).toBe('sim-arm-1');

    const node = await eventually('Ready node for the VM', async () => {
      const list = await core.listNode({ labelSelector: `slicer/hostname=${vm.hostname}` });
      const n = list.items[0];
      return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    });
    expect(node.metadata!.name).toMatch(/^sim-arm-1-[0-9a-f]{8}$/);
    expect(node.metadata!.labels).toMatchObject({
      'slicer/hostgroup': 'sim-arm',
      'slicer/hostname': 'sim-arm-1',
      'k3sup.dev/node-type': 'agent',
      tier: 'batch',
      'kubernetes.io/arch': 'arm64',
    });
    expect(node.spec?.taints).toEqual([{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }]);
    expect(node.status?.allocatable).toMatchObject({ cpu: '4', memory: String(8 * GIB), pods: '110' });
    expect(await client.vmLogs(vm.hostname, 5)).toMatch(/registered with the server/);

    await client.deleteVm('sim-arm', vm.hostname);
    const after = await eventually('node NotReady after the VM is gone', async () => {
      const n = await core.readNode({ name: node.metadata!.name! });
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      return ready && ready.status !== 'True' ? n : undefined;
    });
    expect(after.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('NodeStatusUnknown');
    // It stays NotReady and the Node object stays, as on real k3s: KWOK renews a lease it finds (and re-creates one
    // it misses, then turns the Node Ready again) within about 10 s, so a kubelet that stopped is watched for 20 s.
    const seen: string[] = [];
    for (let s = 1; s <= 20; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      const later = await core.readNode({ name: node.metadata!.name! });
      seen.push(`${s}s:${later.status?.conditions?.find((c) => c.type === 'Ready')?.status}`);
    }
    expect(
      seen.filter((x) => x.endsWith(':True')),
      seen.join(' '),
    ).toEqual([]);
  });

  it('never joins a VM marked to fail, and its console says why', async () => {
    sim.setFaults({ neverJoin: 'all' });
    // The hostname is reused (lowest free number), so the first test's NotReady Node carries the same label.
    const before = (await core.listNode({ labelSelector: 'slicer/hostname=sim-arm-1' })).items.length;
    const vm = await client.createVm('sim-arm', {
      userdata: buildUserdata({ group: 'sim-arm', k3sUrl: 'https://127.0.0.1:6443', labels: {}, taints: [] }),
    });
    await new Promise((r) => setTimeout(r, 1200));
    expect(vm.hostname).toBe('sim-arm-1');
    expect((await core.listNode({ labelSelector: `slicer/hostname=${vm.hostname}` })).items).toHaveLength(before);
    expect(await client.vmLogs(vm.hostname, 3)).toMatch(/failed to contact the server/);
    sim.setFaults({ neverJoin: [] });
    await client.deleteVm('sim-arm', vm.hostname);
  });
});
