import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSlicerClient } from '../../src/slicer/client.js';
import { buildUserdata } from '../../src/slicer/userdata.js';
import { Secret } from '../../src/config/secret.js';
import { drainNodeUpdate, scaleGroupUpdate, statusQuery } from '../../src/workflows/messages.js';
import { eventually, isReady, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// Safety issue, items 1, 2 and 4: an operation and a VM are identified by something never reused. Slicer reuses
// hostnames and a restarted evaluator used to reuse operation IDs; neither may ever make us adopt or delete a VM
// that serves another Node.

describe('operation and VM identity', () => {
  const { core } = kubeClients();
  let product: Product | undefined;
  afterEach(async () => {
    await product?.stop();
    product = undefined;
  });

  async function runningOn(p: Product, name: string): Promise<string> {
    return eventually(
      `pod ${name} Running`,
      async () => {
        const pod = await core.readNamespacedPod({ name, namespace: p.ns });
        return pod.status?.phase === 'Running' ? pod.spec!.nodeName! : undefined;
      },
      60_000,
    );
  }

  it('never adopts a live VM after the evaluator is terminated and started again (item 1)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 4, ramGib: 8, lines: ['max-size = 4'] }],
      global: ['node-provision-timeout = 20s', 'scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=0s'],
    });
    const p = product;
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('p1', { cpu: '3' }) });
    const n1 = await runningOn(p, 'p1');

    // A new evaluator with empty state, as after `temporal workflow terminate` and a worker restart.
    await p.evaluator().terminate('operator terminated the evaluator');
    await p.stopWorker();
    await p.startWorker();

    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('p2', { cpu: '3' }) });
    const n2 = await runningOn(p, 'p2');
    expect(n2).not.toBe(n1);
    expect(p.sim.vms()).toHaveLength(2);
    // Past the 20 s provision deadline of the new scale-up, the first node still serves p1.
    await new Promise((r) => setTimeout(r, 22_000));
    const node1 = await core.readNode({ name: n1 });
    expect(isReady(node1)).toBe(true);
    expect((await core.readNamespacedPod({ name: 'p1', namespace: p.ns })).status?.phase).toBe('Running');
    expect(p.sim.vms()).toHaveLength(2);
  }, 120_000);

  it('rebuilds its books from Temporal: a scale-up running when the evaluator restarts is counted (item 1)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 4, ramGib: 8, lines: ['max-size = 4'] }],
      global: ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s'],
      joinDelayMs: 15_000,
    });
    const p = product;
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('slow', { cpu: '3' }) });
    await eventually('the VM to be created', async () => p.sim.vms().length === 1);
    await p.evaluator().terminate('operator terminated the evaluator');
    await p.stopWorker();
    await p.startWorker();
    const status = await eventually('the new evaluator to know the running scale-up', async () => {
      const s = await p.evaluator().query(statusQuery);
      return Object.keys(s.operations).length > 0 ? s : undefined;
    });
    expect(Object.values(status.operations)[0]).toMatchObject({ kind: 'scale-up', group: p.groups[0], count: 1 });
    await runningOn(p, 'slow');
    // One pod, one VM: the new evaluator did not order a second one for the same pod.
    expect(p.sim.vms()).toHaveLength(1);
  }, 120_000);

  it('treats a scale-down already started by hand as in flight instead of failing (item 2)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4 }],
      global: ['scale-down-unneeded-time = 1s'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=0s'],
      startWorker: false,
    });
    const p = product;
    const group = p.groups[0]!;
    const slicer = createSlicerClient({ url: p.sim.url, token: new Secret(p.simToken) });
    await slicer.createVm(group, {
      userdata: buildUserdata({ group, k3sUrl: 'https://127.0.0.1:6443', labels: {}, taints: [] }),
    });
    await slicer.close();
    const [node] = await eventually('the hand-made VM to join', async () => {
      const nodes = (await p.nodes(group)).filter(isReady);
      return nodes.length === 1 ? nodes : undefined;
    });
    const name = node!.metadata!.name!;
    // Started by hand on a queue no worker polls: it stays Running, holding the ID `scale-down/<node>`.
    await p.client.workflow.start('scaleDownWorkflow', {
      taskQueue: `nobody-${randomBytes(3).toString('hex')}`,
      workflowId: `scale-down/${name}`,
      args: [{ node: name, group, hostname: node!.metadata!.labels!['slicer/hostname']!, drainTimeoutMs: 60_000 }],
    });
    await p.startWorker();
    const status = await eventually('the evaluator to count the hand-started removal', async () => {
      const s = await p.evaluator().query(statusQuery);
      return s.operations[`scale-down/${name}`] ? s : undefined;
    });
    expect(status.operations[`scale-down/${name}`]).toMatchObject({ kind: 'scale-down', node: name });
    await new Promise((r) => setTimeout(r, 3000));
    expect((await p.evaluator().describe()).status.name).toBe('RUNNING');
    await p.client.workflow
      .getHandle(`scale-down/${name}`)
      .terminate('test over')
      .catch(() => undefined);
  }, 120_000);

  it('never deletes the VM of a newer node that reuses a removed node’s hostname (item 4)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 4, ramGib: 8, lines: ['max-size = 4'] }],
      global: ['node-provision-timeout = 30s', 'scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s', '--scale-down-unready-time=10m', '--scale-down-delay-after-add=0s'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 1, reason: 'test' }] });
    const [a] = await eventually('node A Ready', async () => {
      const nodes = (await p.nodes(group)).filter(isReady);
      return nodes.length === 1 ? nodes : undefined;
    });
    const nodeA = a!.metadata!.name!;
    await p.sim.restart();
    await eventually(
      'node A NotReady after the daemon restart',
      async () => !isReady(await core.readNode({ name: nodeA })),
    );

    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('p', { cpu: '3' }) });
    const nodeB = await runningOn(p, 'p');
    expect(nodeB).not.toBe(nodeA);
    const hostnameB = (await core.readNode({ name: nodeB })).metadata!.labels!['slicer/hostname'];
    expect(hostnameB).toBe(a!.metadata!.labels!['slicer/hostname']);

    await eventually('the evaluator to see node A', async () => {
      try {
        return await p.evaluator().executeUpdate(drainNodeUpdate, { args: [{ node: nodeA, reason: 'test' }] });
      } catch {
        return undefined;
      }
    });
    await p.client.workflow.getHandle(`scale-down/${nodeA}`).result();
    expect(p.sim.vms().map((v) => v.hostname)).toEqual([hostnameB]);
    expect(isReady(await core.readNode({ name: nodeB }))).toBe(true);
    expect((await core.readNamespacedPod({ name: 'p', namespace: p.ns })).status?.phase).toBe('Running');
  }, 120_000);
});
