import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCache, type ClusterChange } from '../../src/kube/cluster-cache.js';
import { eventually, freshNamespace, kubeClients, kwokNode } from './helpers/kube.js';

describe('ClusterCache (informers against the real apiserver)', () => {
  const { kc, core, policy } = kubeClients();
  const cache = new ClusterCache(kc);
  const changes: ClusterChange[] = [];
  const node = `cache-${randomBytes(3).toString('hex')}`;
  let ns = '';

  beforeAll(async () => {
    ns = await freshNamespace(core, 'cache');
    await cache.start();
    cache.subscribe((c) => changes.push(c));
  });
  afterAll(async () => {
    await cache.stop();
    await core.deleteNode({ name: node }).catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('sees nodes, pods and PDBs appear, change and go', async () => {
    await core.createNode({ body: kwokNode(node, { cpu: '1', memory: '1Gi' }) });
    await eventually('node in cache and Ready', async () =>
      cache
        .nodes()
        .find((n) => n.metadata?.name === node)
        ?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'registry.invalid/x:1' }], nodeSelector: { nowhere: 'true' } },
      },
    });
    await policy.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: 'b' }, spec: { minAvailable: 1, selector: {} } },
    });
    await eventually('pod marked Unschedulable in cache', async () =>
      cache
        .pods()
        .find((p) => p.metadata?.name === 'p' && p.metadata.namespace === ns)
        ?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'),
    );
    // Watches of different kinds deliver in their own order: wait for the PDB's event rather than assume it came first.
    await eventually('PDB in cache', async () =>
      cache.pdbs().some((p) => p.metadata?.name === 'b' && p.metadata.namespace === ns),
    );

    await core.deleteNamespacedPod({ name: 'p', namespace: ns, gracePeriodSeconds: 0 });
    await eventually('pod delete seen', async () =>
      changes.some((c) => c.kind === 'pod' && c.verb === 'delete' && c.key === `${ns}/p`),
    );
    expect(changes.some((c) => c.kind === 'node' && c.verb === 'add' && c.key === node)).toBe(true);
    expect(changes.some((c) => c.kind === 'pdb' && c.verb === 'add' && c.key === `${ns}/b`)).toBe(true);
    expect(cache.pods().some((p) => p.metadata?.name === 'p' && p.metadata.namespace === ns)).toBe(false);
  });
});
