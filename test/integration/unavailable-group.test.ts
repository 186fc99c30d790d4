import { afterEach, describe, expect, it } from 'vitest';
import { explainQuery, statusQuery } from '../../src/workflows/messages.js';
import { eventually, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// Issue 9: a group whose Slicer daemon does not answer drops out of planning, the other groups keep scaling, and a
// pod only that group could run says which group was left out and why (not just "no group fits").

describe('a node group whose Slicer daemon is down', () => {
  const { core } = kubeClients();
  let product: Product | undefined;
  afterEach(async () => {
    await product?.stop();
    product = undefined;
  });

  it('drops out with a reason the pending pod names, while the other group serves', async () => {
    product = await startProduct({
      groups: [
        { suffix: 'small', cpus: 2, ramGib: 4 },
        { suffix: 'big', cpus: 4, ramGib: 8, daemon: 1 },
      ],
      startWorker: false,
    });
    const p = product;
    const [small, big] = p.groups as [string, string];
    await p.sims[1]!.stop(); // before the worker ever read its template
    await p.startWorker();
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('needs-big', { cpu: '3' }) });
    await core.createNamespacedPod({ namespace: p.ns, body: p.pod('fits-small', { cpu: '1' }) });

    const verdict = await eventually('a verdict naming the unavailable group', async () => {
      const e = await p.evaluator().query(explainQuery, { pod: `${p.ns}/needs-big` });
      return e.found && e.verdict.message.includes('not considered') ? e.verdict : undefined;
    });
    expect(verdict.kind).toBe('no-scale-up');
    expect(verdict.message).toContain(`not considered: ${big} (cannot read host groups from Slicer`);
    const status = await p.evaluator().query(statusQuery);
    expect(status.groups[big]?.unavailable).toMatch(/cannot read host groups/);
    await eventually('the small group to serve its pod', async () => (await p.nodes(small)).length === 1);
    expect(await p.nodes(big)).toEqual([]);
  }, 120_000);
});
