import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { drainNodeUpdate, holdUpdate, scaleGroupUpdate, statusQuery } from '../../src/workflows/messages.js';
import type { ScaleDownResult } from '../../src/workflows/scale-down.js';
import { eventually, isReady, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// Safety issue, items 6 and 8: operator commands never take a group below min-size or past a total limit, even when
// they race, never drain a held node, and a drain never evicts a pod the planner protects (it re-checks each pod
// right before evicting it, and rolls back instead).

describe('steering and draining stay within what the planner protects', () => {
  const { core } = kubeClients();
  let product: Product | undefined;
  afterEach(async () => {
    await product?.stop();
    product = undefined;
  });

  async function readyNodes(p: Product, count: number): Promise<string[]> {
    return eventually(`${count} Ready node(s)`, async () => {
      const nodes = (await p.nodes(p.groups[0])).filter(isReady);
      return nodes.length === count ? nodes.map((n) => n.metadata!.name!).sort() : undefined;
    });
  }
  async function seen(p: Product, count: number): Promise<void> {
    await eventually(`the evaluator to see ${count} node(s)`, async () => {
      const g = (await p.evaluator().query(statusQuery)).groups[p.groups[0]!];
      return g?.ready === count;
    });
  }

  it('refuses to drain a held node (item 8)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 3'] }],
      global: ['scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=0s'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 1, reason: 'test' }] });
    const [c] = await readyNodes(p, 1);
    await seen(p, 1);

    await p.evaluator().executeUpdate(holdUpdate, { args: [{ node: c!, reason: 'keep for debugging' }] });
    await expect(
      p.evaluator().executeUpdate(drainNodeUpdate, { args: [{ node: c!, reason: 'test' }] }),
    ).rejects.toThrow(WorkflowUpdateFailedError);

    // Released, the same drain goes through.
    await p.evaluator().executeUpdate(holdUpdate, { args: [{ node: c!, reason: 'done', release: true }] });
    await p.evaluator().executeUpdate(drainNodeUpdate, { args: [{ node: c!, reason: 'test' }] });
  }, 120_000);

  it('two concurrent drains at min-size + 1: exactly one is accepted (item 8)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['min-size = 1', 'max-size = 3'] }],
      global: ['scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=0s'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 2, reason: 'test' }] });
    const [a, b] = await readyNodes(p, 2);
    await seen(p, 2);
    const results = await Promise.allSettled([
      p.evaluator().executeUpdate(drainNodeUpdate, { args: [{ node: a!, reason: 'race 1' }] }),
      p.evaluator().executeUpdate(drainNodeUpdate, { args: [{ node: b!, reason: 'race 2' }] }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String((refused.reason as Error).cause ?? refused.reason)).toMatch(/min-size 1/);
  }, 120_000);

  it('refuses scaleGroup past --max-nodes-total (item 8)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 5'] }],
      flags: ['--scan-interval=1s', '--max-nodes-total=2'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await expect(
      p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 3, reason: 'test' }] }),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.sim.vms()).toHaveLength(0);
  }, 120_000);

  it('re-checks every pod before eviction: a bare pod or a safe-to-evict=false pod makes the drain roll back (item 6)', async () => {
    product = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 10m', 'drain-timeout = 20s'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=0s'],
    });
    const p = product;
    const group = p.groups[0]!;
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[group]);
    await p.evaluator().executeUpdate(scaleGroupUpdate, { args: [{ group, size: 1, reason: 'test' }] });
    const [node] = await readyNodes(p, 1);
    await seen(p, 1);
    // A bare pod: nothing would recreate it elsewhere.
    const bare = p.pod('bare', { cpu: '100m' });
    bare.spec!.nodeName = node!;
    await core.createNamespacedPod({ namespace: p.ns, body: bare });
    await eventually('the bare pod Running', async () => {
      const pod = await core.readNamespacedPod({ name: 'bare', namespace: p.ns });
      return pod.status?.phase === 'Running';
    });
    const { workflowId } = await p
      .evaluator()
      .executeUpdate(drainNodeUpdate, { args: [{ node: node!, reason: 'test' }] });
    const result = (await p.client.workflow.getHandle(workflowId).result()) as ScaleDownResult;
    expect(result.outcome).toBe('rolled-back');
    const pod = await core.readNamespacedPod({ name: 'bare', namespace: p.ns });
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
    expect(pod.status?.phase).toBe('Running');
    const after = await core.readNode({ name: node! });
    expect(after.spec?.unschedulable ?? false).toBe(false);
    expect(after.spec?.taints?.some((t) => t.key === 'ToBeDeletedByClusterAutoscaler') ?? false).toBe(false);
    expect(p.sim.vms()).toHaveLength(1);
  }, 120_000);
});
