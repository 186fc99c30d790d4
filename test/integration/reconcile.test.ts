import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createReconcileActivities } from '../../src/activities/reconcile.js';
import { createSlicerVmProvider } from '../../src/activities/slicer-provider.js';
import { parseConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { createSlicerClient, type SlicerClient } from '../../src/slicer/client.js';
import { buildUserdata } from '../../src/slicer/userdata.js';
import { ClusterJoiner } from '../../src/simulator/join.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { clusterTag } from '../../src/shared/ids.js';
import { eventually, kubeClients } from './helpers/kube.js';

// The orphan sweep against the simulated Slicer and the real apiserver: it deletes what is provably ours and
// stale, reports what is not ours, and leaves running operations alone.

const GIB = 1024 ** 3;

describe('orphan sweep', () => {
  const { core } = kubeClients();
  const cluster = `rc-${randomBytes(2).toString('hex')}`;
  const group = `${cluster}-g`;
  const token = 'reconcile-token';
  let sim: RunningSimulator;
  let client: SlicerClient;

  beforeAll(async () => {
    sim = await startSimulator({
      token,
      hostGroups: [{ name: group, cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
      joiner: new ClusterJoiner(inject('kubeconfigPath')),
      joinDelayMs: 200,
    });
    client = createSlicerClient({ url: sim.url, token: new Secret(token) });
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
    for (const n of (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items)
      await core.deleteNode({ name: n.metadata!.name! });
  });

  it('deletes our stale VMs and Nodes whose VM is gone, reports VMs that are not ours, spares running operations', async () => {
    const config = parseConfig(
      `[global]\nk3s-url=https://127.0.0.1:6443\nk3s-token=t\ncluster-name=${cluster}\nnode-provision-timeout=1s\n[nodegroup "${group}"]\nslicer-url=${sim.url}\nslicer-token=${token}\n`,
    );
    const userdata = buildUserdata({ group, k3sUrl: 'https://127.0.0.1:6443', labels: {}, taints: [] });
    // A VM that joins, then a Slicer daemon restart loses it: its Node stays, NotReady.
    const joined = await client.createVm(group, { userdata, tags: [clusterTag(cluster)] });
    const node = await eventually(
      'the joined Node',
      async () => (await core.listNode({ labelSelector: `slicer/hostname=${joined.hostname}` })).items[0],
    );
    await sim.restart();
    sim.setFaults({ neverJoin: 'all' });
    await new Promise((r) => setTimeout(r, 3000)); // the daemon comes back a moment later
    const ours = await client.createVm(group, { userdata, tags: [clusterTag(cluster)] });
    const foreign = await client.createVm(group, { userdata, tags: ['made-by-hand'] });
    const running = await client.createVm(group, {
      userdata,
      tags: [clusterTag(cluster), `slicer-autoscaler/op=scale-up/${group}/7#0`],
    });
    await new Promise((r) => setTimeout(r, 2500)); // older than twice the provision timeout

    const { reconcile } = createReconcileActivities({
      config,
      core,
      vms: createSlicerVmProvider(config, () => client),
    });
    const findings = await reconcile({ busyOperations: [`scale-up/${group}/7`], busyNodes: [] });
    const by = (h: string) => findings.filter((f) => f.hostname === h);
    // The restart freed number 1, so `ours` reuses the hostname of the lost VM; the sweep tells them apart by age.
    expect(ours.hostname).toBe(joined.hostname);
    expect(
      by(ours.hostname)
        .map((f) => [f.kind, f.action])
        .sort(),
    ).toEqual([
      ['node-without-vm', 'deleted-node'],
      ['vm-without-node', 'deleted-vm'],
    ]);
    expect(by(foreign.hostname)).toEqual([
      expect.objectContaining({ kind: 'untagged-vm-without-node', action: 'reported' }),
    ]);
    expect(by(running.hostname)).toEqual([]);
    expect(
      sim
        .vms()
        .map((v) => v.hostname)
        .sort(),
    ).toEqual([foreign.hostname, running.hostname].sort());
    await expect(core.readNode({ name: node.metadata!.name! })).rejects.toMatchObject({ code: 404 });
  });
});
