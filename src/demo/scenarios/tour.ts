import { explainQuery, pauseUpdate, resumeUpdate, scaleGroupUpdate } from '../../workflows/messages.js';
import type { Scenario } from '../harness.js';
import { deployment, isReady, running, scale } from './workload.js';

const X86 = 'slicer-x86';
const ARM = 'slicer-arm';

/**
 * The default tour: x86 and Arm hosts, a mixed workload, a pod no host can run (and why), an operator pause and a
 * refused request above max-size, then the workload goes and every VM with it.
 */
export const tour: Scenario = {
  name: 'tour',
  summary: 'a mixed workload on x86 and Arm hosts, an explained pending pod, operator steering, full scale-down',
  groups: [
    { name: X86, cpus: 2, ramGiB: 4, arch: 'x86_64' },
    { name: ARM, cpus: 4, ramGiB: 8, arch: 'aarch64', ini: ['max-size = 2'] },
  ],
  global: [
    'default-min-size = 0',
    'default-max-size = 4',
    'node-provision-timeout = 60s',
    'scale-down-unneeded-time = 20s',
  ],
  flags: ['--scan-interval=2s', '--scale-down-delay-after-add=15s'],
  async play(ctx) {
    const x86 = ctx.g(X86);
    const arm = ctx.g(ARM);
    ctx.say(
      'a workload arrives: web (4 x 900m CPU, amd64), api (2 x 1500m CPU, arm64), and a 16-CPU batch pod no host can run',
    );
    await ctx.apps.createNamespacedDeployment({
      namespace: ctx.namespace,
      body: deployment('web', 4, { cpu: '900m', memory: '512Mi' }, { nodeSelector: { 'kubernetes.io/arch': 'amd64' } }),
    });
    await ctx.apps.createNamespacedDeployment({
      namespace: ctx.namespace,
      body: deployment(
        'api',
        2,
        { cpu: '1500m', memory: '512Mi' },
        { nodeSelector: { 'kubernetes.io/arch': 'arm64' } },
      ),
    });
    await ctx.core.createNamespacedPod({
      namespace: ctx.namespace,
      body: {
        metadata: { name: 'batch' },
        spec: {
          containers: [
            { name: 'batch', image: 'registry.invalid/batch:1', resources: { requests: { cpu: '16', memory: '1Gi' } } },
          ],
        },
      },
    });
    await ctx.until('web and api Running', async () => running(await ctx.podsOf('app in (web,api)')).length === 6);
    const ready = async (g: string) => (await ctx.nodesOf(g)).filter(isReady).length;
    ctx.say(`all 6 pods Running on new VMs: ${X86} has ${await ready(x86)} Ready node(s), ${ARM} ${await ready(arm)}`);
    const batch = await ctx.until('an explanation for batch', async () => {
      const e = await ctx.evaluator.query(explainQuery, { pod: `${ctx.namespace}/batch` });
      return e.found ? e : undefined;
    });
    const explained = batch.found ? `${batch.verdict.reason}: ${batch.verdict.message}` : '';
    ctx.say(`why is ${ctx.namespace}/batch pending? ${explained}`);
    ctx.say(`operator: pause the autoscaler for maintenance, and ask for 9 ${X86} nodes (above max-size)`);
    await ctx.evaluator.executeUpdate(pauseUpdate, { args: [{ reason: 'maintenance window' }] });
    const refused = await ctx.evaluator
      .executeUpdate(scaleGroupUpdate, { args: [{ group: x86, size: 9 }] })
      .then(() => undefined)
      .catch((e: Error) => (e.cause as Error)?.message ?? e.message);
    ctx.say(`scaleGroup ${X86} to 9 -> ${refused ? `refused: ${refused}` : 'accepted?!'}`);
    await ctx.evaluator.executeUpdate(resumeUpdate, { args: [{}] });
    ctx.say('operator: resumed; the workload goes away (web and api scaled to 0, batch deleted)');
    await ctx.core.deleteNamespacedPod({ name: 'batch', namespace: ctx.namespace });
    for (const name of ['web', 'api']) await scale(ctx, name, 0);
    await ctx.until(
      'every VM removed',
      async () =>
        (await ctx.nodesOf(x86)).length + (await ctx.nodesOf(arm)).length === 0 &&
        Object.values(ctx.sims).every((s) => s.vms().length === 0),
    );
    ctx.say('every VM deleted through Slicer and every Node removed');
    return {
      ok: explained.startsWith('TooBigForEveryTemplate') && /max-size is 4/.test(refused ?? ''),
      what: `6 pods ran on x86 and Arm VMs; batch explained (${explained.split(':')[0]}); scaleGroup above max-size refused; every VM removed when the workload went`,
    };
  },
};
