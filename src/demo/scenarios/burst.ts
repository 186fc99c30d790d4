import type { Scenario } from '../harness.js';
import { running, spread } from './workload.js';
import { HOSTGROUP_LABEL } from '../../kube/nodes.js';

const A = 'slicer-a';
const B = 'slicer-b';
const PODS = 1000;
/** Pods created at once per request wave: a burst, without one request per pod in flight. */
const WAVE = 50;

/**
 * 1,000 pods at once (100m / 128Mi each, as a batch system would submit them): the planner packs them onto 8-vCPU
 * VMs in one evaluation and balances the VMs over two similar host groups; when the pods go, every VM goes.
 */
export const burst: Scenario = {
  name: 'burst',
  summary: '1,000 pods at once, packed and balanced over two host groups, then all removed',
  groups: [
    { name: A, cpus: 8, ramGiB: 16, arch: 'x86_64' },
    { name: B, cpus: 8, ramGiB: 16, arch: 'x86_64' },
  ],
  global: [
    'default-min-size = 0',
    'default-max-size = 10',
    'node-provision-timeout = 60s',
    'scale-down-unneeded-time = 10s',
  ],
  flags: [
    '--scan-interval=2s',
    '--scale-down-delay-after-add=5s',
    '--balance-similar-node-groups=true',
    '--max-scale-down-parallelism=20',
  ],
  async play(ctx) {
    const t0 = Date.now();
    ctx.say(`${PODS} pods of 100m / 128Mi arrive at once`);
    for (let i = 0; i < PODS; i += WAVE)
      await Promise.all(
        Array.from({ length: Math.min(WAVE, PODS - i) }, (_, j) =>
          ctx.core.createNamespacedPod({
            namespace: ctx.namespace,
            body: {
              metadata: { name: `burst-${i + j}`, labels: { app: 'burst' } },
              spec: {
                terminationGracePeriodSeconds: 0,
                containers: [
                  {
                    name: 'job',
                    image: 'docker.io/library/busybox:latest',
                    resources: { requests: { cpu: '100m', memory: '128Mi' } },
                  },
                ],
              },
            },
          }),
        ),
      );
    ctx.say(`all ${PODS} created in ${Math.round((Date.now() - t0) / 1000)}s`);
    const pods = await ctx.until(
      `${PODS} pods Running`,
      async () => {
        const r = running(await ctx.podsOf('app=burst'));
        return r.length === PODS ? r : undefined;
      },
      110_000,
    );
    const upIn = Math.round((Date.now() - t0) / 1000);
    const nodes = (await ctx.core.listNode({ labelSelector: HOSTGROUP_LABEL })).items;
    const by = spread(pods, new Map(nodes.map((n) => [n.metadata!.name!, n.metadata!.labels![HOSTGROUP_LABEL]!])));
    const vms = Object.values(by).reduce((a, b) => a + b, 0);
    ctx.say(
      `${PODS} pods Running ${upIn}s after the burst on ${vms} VMs (${A} ${by[ctx.g(A)] ?? 0}, ${B} ${by[ctx.g(B)] ?? 0})`,
    );
    ctx.say('the batch is done: every pod deleted');
    const downAt = Date.now();
    await ctx.core.deleteCollectionNamespacedPod({
      namespace: ctx.namespace,
      labelSelector: 'app=burst',
      gracePeriodSeconds: 0,
    });
    await ctx.until(
      'every VM removed',
      async () =>
        Object.values(ctx.sims).every((s) => s.vms().length === 0) &&
        (await ctx.nodesOf(ctx.g(A))).length + (await ctx.nodesOf(ctx.g(B))).length === 0,
      100_000,
    );
    const downIn = Math.round((Date.now() - downAt) / 1000);
    ctx.say(`every VM removed ${downIn}s after the pods went`);
    // 80 pods fit one 8-vCPU VM by CPU: the fewest VMs that can hold the burst.
    const least = Math.ceil(PODS / 80);
    return {
      ok: vms >= least && (by[ctx.g(A)] ?? 0) > 0 && (by[ctx.g(B)] ?? 0) > 0,
      what: `${PODS} pods Running ${upIn}s after the burst on ${vms} VMs (fewest possible ${least}; ${A} ${by[ctx.g(A)] ?? 0}, ${B} ${by[ctx.g(B)] ?? 0}); all removed ${downIn}s after the pods went`,
    };
  },
};
