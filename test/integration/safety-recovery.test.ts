import { temporal } from '@temporalio/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { drainNodeUpdate, scaleGroupUpdate, statusQuery } from '../../src/workflows/messages.js';
import type { ScaleDownResult } from '../../src/workflows/scale-down.js';
import { eventually, isReady, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// Safety issue, items 7 and 10: the evaluator never spins after a backoff runs out, drains end (a NotReady node's
// terminating pods count as gone), and a removal's taint left behind is repaired by the sweep.

const EventType = temporal.api.enums.v1.EventType;

describe('the evaluator and drains get unstuck', () => {
  const { core, apps } = kubeClients();
  let product: Product | undefined;
  afterEach(async () => {
    await product?.stop();
    product = undefined;
  });

  /** planScaling activities the evaluator scheduled in [from, to). */
  async function plansBetween(p: Product, from: number, to: number): Promise<number> {
    const history = await p.evaluator().fetchHistory();
    return (history.events ?? []).filter((e) => {
      if (e.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) return false;
      if (e.activityTaskScheduledEventAttributes?.activityType?.name !== 'planScaling') return false;
      const t = Number(e.eventTime?.seconds ?? 0) * 1000;
      return t >= from && t < to;
    }).length;
  }

  it('does not re-plan in a loop once a backoff has run out (item 7)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['node-provision-timeout = 3s', 'scale-down-unneeded-time = 10m'],
      flags: [
        '--scan-interval=10s',
        '--initial-node-group-backoff-duration=2s',
        '--max-node-group-backoff-duration=2s',
      ],
    });
    const p = product;
    p.sim.setFaults({ neverJoin: 'all' });
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('p', { cpu: '1' }) });
    await eventually('a failed scale-up and a backoff', async () => {
      const s = await p.evaluator().query(statusQuery);
      return s.backoff[p.groups[0]!] !== undefined && s.recent.some((r) => !r.succeeded);
    });
    // Nothing left to scale for: the expired backoff entry stays, and must not wake the loop again and again.
    await core.deleteNamespacedPod({ name: 'p', namespace: p.ns });
    await new Promise((r) => setTimeout(r, 4000)); // past the backoff
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const plans = await plansBetween(p, from, Date.now());
    // One scan interval (10 s) and a few watch signals at most; a spinning loop plans about once a second or more.
    expect(plans).toBeLessThanOrEqual(4);
  }, 120_000);

  it('finishes the drain of a NotReady node whose pods are stuck terminating (item 10)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 10m', 'drain-timeout = 20s'],
      flags: ['--scan-interval=1s', '--scale-down-unready-time=10m'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 1, reason: 'test' }] });
    const node = await eventually('one Ready node', async () => {
      const nodes = (await p.nodes(group)).filter(isReady);
      return nodes.length === 1 ? nodes[0]!.metadata!.name! : undefined;
    });
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: p.ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          // The finalizer keeps a deleted pod Terminating for ever, as a node without a kubelet does.
          template: {
            metadata: { labels, finalizers: ['slicer-autoscaler.test/hold'] },
            spec: { ...p.pod('x', { cpu: '100m' }).spec!, nodeSelector: { 'kubernetes.io/hostname': node } },
          },
        },
      },
    });
    const pod = await eventually('the web pod Running', async () => {
      const pods = await core.listNamespacedPod({ namespace: p.ns, labelSelector: 'app=web' });
      return pods.items.find((x) => x.status?.phase === 'Running')?.metadata?.name;
    });
    // The daemon loses the VM: no kubelet, so a deleted pod stays Terminating for ever.
    await p.sim.restart();
    await eventually('node NotReady', async () => !isReady(await core.readNode({ name: node })));
    await core.deleteNamespacedPod({ name: pod, namespace: p.ns });
    await eventually('the pod stuck terminating', async () => {
      const x = await core.readNamespacedPod({ name: pod, namespace: p.ns });
      return x.metadata?.deletionTimestamp !== undefined;
    });
    const { workflowId } = await p.evaluator().executeUpdate(drainNodeUpdate, { args: [{ node, reason: 'test' }] });
    const result = (await p.client.workflow.getHandle(workflowId).result()) as ScaleDownResult;
    expect(result.outcome).toBe('removed');
    await expect(core.readNode({ name: node })).rejects.toMatchObject({ code: 404 });
    await apps.deleteNamespacedDeployment({ name: 'web', namespace: p.ns });
    for (const x of (await core.listNamespacedPod({ namespace: p.ns })).items)
      await core.patchNamespacedPod({
        name: x.metadata!.name!,
        namespace: p.ns,
        body: [{ op: 'remove', path: '/metadata/finalizers' }],
      });
  }, 120_000);

  it('repairs a removal taint no running removal owns, keeping an operator cordon alone (item 10)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s', '--orphan-sweep-interval=2s'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 1, reason: 'test' }] });
    const node = await eventually('one Ready node', async () => {
      const nodes = (await p.nodes(group)).filter(isReady);
      return nodes.length === 1 ? nodes[0]! : undefined;
    });
    // What a removal leaves when its worker dies mid-rollback: our taint and our cordon.
    await core.patchNode({
      name: node.metadata!.name!,
      body: [
        {
          op: 'add',
          path: '/spec/taints',
          value: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }],
        },
        { op: 'add', path: '/spec/unschedulable', value: true },
      ],
    });
    await eventually(
      'the sweep to untaint and uncordon it',
      async () => {
        const n = await core.readNode({ name: node.metadata!.name! });
        return (
          !(n.spec?.taints ?? []).some((t) => t.key === 'ToBeDeletedByClusterAutoscaler') && !n.spec?.unschedulable
        );
      },
      30_000,
    );
    const status = await p.evaluator().query(statusQuery);
    expect(status.orphans).toContainEqual(expect.objectContaining({ kind: 'stale-taint', action: 'untainted' }));
  }, 120_000);

  it('removes the Node of a VM a daemon restart lost, even when a pod that blocks scale-down is on it', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 5s'],
      flags: ['--orphan-sweep-interval=3s', '--scale-down-unready-time=5s', '--scale-down-delay-after-add=0s'],
    });
    const p = product;
    // A bare pod (no controller) blocks scale-down of its node: only the VM's loss may take the Node away.
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('bare', { cpu: '1' }) });
    const node = await eventually('the bare pod running on a new node', async () => {
      const pod = await core.readNamespacedPod({ name: 'bare', namespace: p.ns });
      return pod.status?.phase === 'Running' ? pod.spec?.nodeName : undefined;
    });
    await p.sim.restart();
    await eventually(
      'the dead Node removed',
      async () => !(await p.nodes()).some((n) => n.metadata?.name === node),
      60_000,
    );
    const status = await p.evaluator().query(statusQuery);
    const removedBy = [
      ...status.orphans.filter((o) => o.node === node).map((o) => `sweep: ${o.action}`),
      ...status.recent.filter((r) => r.workflowId === `scale-down/${node}`).map((r) => `scale-down: ${r.message}`),
    ];
    expect(removedBy.length).toBeGreaterThan(0);
  }, 120_000);

  it('a pod whose name makes a reason longer than 200 characters still wakes the evaluator (item 13)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 10m'],
      // A minute between scans: only the watch's signal can make it plan within the test's 20 s.
      flags: ['--scan-interval=60s'],
    });
    const p = product;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).lastEvaluationAt);
    const name = `long-${'x'.repeat(240)}`;
    const body = p.pod(name, { cpu: '1' });
    body.metadata!.labels = { app: 'long' }; // a label value may not be that long
    await core.createNamespacedPod({ namespace: p.ns, body });
    await eventually('a VM for the long-named pod', async () => p.sim.vms().length === 1, 20_000);
  }, 120_000);

  it('hears about pods created while its worker was restarting, without waiting for the next scan', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 10m'],
      // A minute between scans: only a watch that resumed (and says so) can make it plan within 25 s.
      flags: ['--scan-interval=60s'],
    });
    const p = product;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).lastEvaluationAt);
    await p.stopWorker();
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('while-away', { cpu: '1' }) });
    await p.startWorker();
    await eventually('a VM for the pod created while no worker ran', async () => p.sim.vms().length === 1, 25_000);
  }, 120_000);
});
