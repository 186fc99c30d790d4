import { ApplicationFailure } from '@temporalio/common';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { DRY_RUN_REFUSED, dryRunCore, dryRunReconcile, dryRunVmProvider } from '../../../src/activities/dry-run.js';
import { createReconcileActivities } from '../../../src/activities/reconcile.js';
import type { VmProvider } from '../../../src/activities/vm-provider.js';
import type { Config } from '../../../src/config/load.js';

const refused = (e: unknown): boolean =>
  e instanceof ApplicationFailure && e.type === DRY_RUN_REFUSED && e.nonRetryable === true;

describe('dry-run guards', () => {
  it('the VM provider answers reads and refuses creates and deletes, without calling through', async () => {
    const inner: VmProvider = {
      findVmsByTag: vi.fn(async () => [{ hostname: 'a-1', tags: ['t'], createdAtMs: 1 }]),
      listVms: vi.fn(async () => [{ hostname: 'a-1', tags: ['t'], createdAtMs: 1 }]),
      consoleTail: vi.fn(async () => 'boot log'),
      createVm: vi.fn(async () => ({ hostname: 'a-2' })),
      deleteVm: vi.fn(async () => ({ existed: true })),
    };
    const vms = dryRunVmProvider(inner);
    expect(await vms.findVmsByTag('a', 't')).toEqual([{ hostname: 'a-1', tags: ['t'], createdAtMs: 1 }]);
    expect(await vms.listVms('a')).toHaveLength(1);
    expect(await vms.consoleTail('a', 'a-1', 5)).toBe('boot log');
    await expect(vms.createVm('a', { tags: ['t'] })).rejects.toSatisfy(refused);
    await expect(vms.deleteVm('a', 'a-1')).rejects.toSatisfy(refused);
    expect(inner.createVm).not.toHaveBeenCalled();
    expect(inner.deleteVm).not.toHaveBeenCalled();
  });

  it('the Kubernetes client reads, writes Events and the status ConfigMap, and refuses every other write', async () => {
    const calls: string[] = [];
    const fake = Object.fromEntries(
      [
        'readNode',
        'listPodForAllNamespaces',
        'createNamespacedEvent',
        'replaceNamespacedConfigMap',
        'patchNode',
        'deleteNode',
        'createNamespacedPodEviction',
        'replaceNodeStatus',
      ].map((m) => [m, async () => calls.push(m)]),
    ) as unknown as CoreV1Api;
    const core = dryRunCore(fake);
    await core.readNode({ name: 'n' });
    await core.listPodForAllNamespaces({});
    await core.createNamespacedEvent({ namespace: 'default', body: { metadata: {}, involvedObject: {} } });
    await core.replaceNamespacedConfigMap({ name: 'c', namespace: 'kube-system', body: {} });
    for (const write of [
      () => core.patchNode({ name: 'n', body: [] }),
      () => core.deleteNode({ name: 'n' }),
      () => core.createNamespacedPodEviction({ name: 'p', namespace: 'default', body: {} }),
      () => core.replaceNodeStatus({ name: 'n', body: {} }),
    ])
      await expect(write()).rejects.toSatisfy(refused);
    expect(calls).toEqual([
      'readNode',
      'listPodForAllNamespaces',
      'createNamespacedEvent',
      'replaceNamespacedConfigMap',
    ]);
  });

  it('the orphan sweep reports what it would delete and deletes nothing', async () => {
    const old = new Date(Date.now() - 3600_000).toISOString();
    const staleNode: V1Node = {
      metadata: {
        name: 'a-1-dead',
        creationTimestamp: new Date(old),
        labels: { 'slicer/hostgroup': 'a', 'slicer/hostname': 'a-1' },
      },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
    };
    const deleteNode = vi.fn();
    const core = {
      listNodeWithHttpInfo: async () => ({ data: { items: [staleNode] }, headers: {} }),
      deleteNode,
    } as unknown as CoreV1Api;
    const deleteVm = vi.fn(async () => ({ existed: true }));
    const vms = {
      listVms: async () => [{ hostname: 'a-2', createdAtMs: Date.parse(old), tags: ['slicer-autoscaler/cluster=c'] }],
      deleteVm,
    } as unknown as VmProvider;
    const config = { clusterName: 'c', groups: [{ name: 'a', provisionTimeoutMs: 60_000 }] } as unknown as Config;
    const reconcile = dryRunReconcile((d) => createReconcileActivities({ config, ...d }), core, vms);
    const findings = await reconcile({ busyOperations: [], busyNodes: [] });
    expect(findings).toEqual([
      expect.objectContaining({
        kind: 'vm-without-node',
        hostname: 'a-2',
        action: 'reported',
        reason: expect.stringMatching(/^dry-run: would have deleted the VM; created \d+s ago/),
      }),
      expect.objectContaining({
        kind: 'node-without-vm',
        node: 'a-1-dead',
        action: 'reported',
        reason: 'dry-run: would have deleted the Node; NotReady and Slicer has no VM a-1 any more',
      }),
    ]);
    expect(deleteNode).not.toHaveBeenCalled();
    expect(deleteVm).not.toHaveBeenCalled();
  });
});
