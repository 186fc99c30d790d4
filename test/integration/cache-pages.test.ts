import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/kube/cluster-cache.js';
import { freshNamespace, kubeClients } from './helpers/kube.js';

// Issue 9, memory: the cache lists in pages (500 objects in production, 3 here) with the real apiserver's continue
// tokens, so a worker starting on a big cluster never holds the whole list at once; every object still arrives, slim,
// and the watch carries on from the list's resourceVersion.

describe('ClusterCache lists in pages on the real apiserver', () => {
  const { kc, core } = kubeClients();
  const cache = new ClusterCache(kc, () => undefined, 3);
  let ns = '';
  const names = Array.from({ length: 8 }, (_, i) => `paged-${i}`);

  beforeAll(async () => {
    ns = await freshNamespace(core, 'pages');
    for (const name of names)
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: { containers: [{ name: 'c', image: 'registry.invalid/x:1' }], nodeSelector: { nowhere: 'true' } },
        },
      });
  });
  afterAll(async () => {
    await cache.stop();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('gets every pod from several pages, slimmed, and keeps watching after the list', async () => {
    const everyPod = (await core.listPodForAllNamespaces()).items.filter(
      (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );
    expect(everyPod.length).toBeGreaterThan(3 * 2); // at least three pages
    expect(await cache.start()).toBe(true);
    const cached = cache.pods().filter((p) => p.metadata?.namespace === ns);
    expect(cached.map((p) => p.metadata?.name).sort()).toEqual([...names].sort());
    // Slim: no token volume, no managedFields, no container image.
    for (const p of cached) {
      expect(p.metadata?.managedFields).toBeUndefined();
      expect(p.spec?.volumes).toBeUndefined();
      expect(p.spec?.containers[0]?.image).toBeUndefined();
    }
    // The watch resumes from the paged list's resourceVersion: a pod made now arrives.
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'after' }, spec: { containers: [{ name: 'c', image: 'registry.invalid/x:1' }] } },
    });
    for (let i = 0; i < 100 && !cache.pods().some((p) => p.metadata?.name === 'after'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(cache.pods().some((p) => p.metadata?.name === 'after' && p.metadata.namespace === ns)).toBe(true);
  });
});
