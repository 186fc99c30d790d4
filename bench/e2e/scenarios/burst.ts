import { setTimeout as delay } from 'node:timers/promises';
import { pauseUpdate, resumeUpdate } from '../../../src/workflows/messages.js';
import type { Env } from '../env.js';
import { createPods, podSpec, until } from '../kube.js';
import { minimumNodes } from '../minimum.js';
import { ANCHORS, anchor, historyTarget, mb, target } from '../result.js';
import { inEnv, peakVms, round, type Measured, type Scenario } from '../scenario.js';

// 1,000 pods at once, created directly (no controller's rate limit in the figure), onto two groups of 4 CPU / 8 GiB
// whose VMs join after 2 s: once with the autoscaler running, once created while it is paused and then resumed.

const POD = { cpu: '100m', memory: '128Mi' };
const SHAPE = { cpus: 4, ramGib: 8 };
/** After every pod runs, wait this long for a late extra VM. */
const SETTLE_MS = 5000;
const CREATE_CONCURRENCY = 50;

const groups = [
  { suffix: 'a', ...SHAPE, joinDelayMs: 2000, maxSize: 40 },
  { suffix: 'b', ...SHAPE, joinDelayMs: 2000, maxSize: 40 },
];
const global = ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 10m'];
const flags = ['--scan-interval=10s', '--scale-down-delay-after-add=10m'];

async function burst(env: Env, count: number, paused: boolean, log: (l: string) => void): Promise<Measured> {
  const names = Array.from({ length: count }, (_, i) => `burst-${i}`);
  if (paused) await env.evaluator().executeUpdate(pauseUpdate, { args: [{ reason: 'bench: burst while paused' }] });
  env.worker!.sampler.startPhase('burst');
  const peak = peakVms(env);
  const t0 = Date.now();
  for (const n of names) env.watch.created(n, t0);
  await createPods(
    env.core,
    names.map((n) => podSpec(n, env.namespace, POD)),
    CREATE_CONCURRENCY,
  );
  const createdSec = round((Date.now() - t0) / 1000, 1);
  log(`${count} pods created in ${createdSec} s`);
  let from = t0;
  if (paused) {
    await until(
      `${count} pods Unschedulable`,
      () => names.every((n) => env.watch.pods.get(n)?.unschedulableMs !== undefined),
      300_000,
      250,
    );
    if (env.creates().length > 0) throw new Error('a VM was created while the autoscaler was paused');
    log(`all Unschedulable after ${round((Date.now() - t0) / 1000, 1)} s; resuming`);
    from = Date.now();
    await env.evaluator().executeUpdate(resumeUpdate, { args: [{}] });
  }
  await until(`${count} pods Running`, () => env.watch.running(names) === count, 600_000, 250);
  const allRunningMs = Date.now() - from;
  log(`all Running ${round(allRunningMs / 1000, 1)} s after ${paused ? 'resume' : 'the first create'}`);
  await delay(SETTLE_MS);
  const burstPeakMiB = env.worker!.sampler.phasePeak('burst');
  const creates = env.creates();
  const made = creates.length;
  const minimum = minimumNodes(count, SHAPE, POD);
  const firstCreateMs = creates[0] ? creates[0].at - from : NaN;
  const lastCreateMs = creates.at(-1) ? creates.at(-1)!.at - from : NaN;
  return {
    figure: {
      name: `all ${count} Running after ${paused ? 'resume' : 'first create'}`,
      value: round(allRunningMs / 1000, 1),
      unit: 's',
    },
    figures: {
      'pods created in s': createdSec,
      'first VM create call after ms': firstCreateMs,
      'last VM create call after ms': lastCreateMs,
      'worker peak RSS during the burst MiB': Math.round(burstPeakMiB),
      'VMs per group': Object.fromEntries(
        env.groups.map((g) => [g.name, creates.filter((c) => c.group === g.name).length]),
      ),
    },
    vms: { made, minimum, peak: peak.stop() },
    historyFromMs: t0,
    anchors: [
      anchor('all Running / Karpenter 2 min gate for 1,000 pods', allRunningMs, ANCHORS.karpenterBurstMs),
      anchor('worker peak RSS / Karpenter 260 MB gate', mb(burstPeakMiB), ANCHORS.karpenterMemoryMb),
      anchor('first create / cluster-autoscaler 30 s SLO', firstCreateMs, ANCHORS.caScaleUpSloMs),
    ],
    targets: (h) => [
      target('VMs at the bin-packing minimum (+0)', `${minimum}`, `${made}`, made === minimum),
      target('worker peak RSS through the burst', '< 260 MB', `${mb(burstPeakMiB)} MB`, mb(burstPeakMiB) < 260),
      historyTarget(h),
    ],
  };
}

export const burstScenario: Scenario = {
  name: 'burst',
  description:
    '1,000 pods (100m / 128Mi) created at once, directly, onto two groups of 4 CPU / 8 GiB whose VMs join after 2 s; ' +
    'the bin-packing minimum is 25 nodes',
  run: (ctx) =>
    inEnv(burstScenario, ctx, { groups, global, flags }, (env) => burst(env, ctx.quick ? 200 : 1000, false, ctx.log)),
};

export const pausedBurst: Scenario = {
  name: 'paused-burst',
  description:
    'The same 1,000 pods created while the autoscaler is paused (pause update), then resumed once all are ' +
    'Unschedulable',
  run: (ctx) =>
    inEnv(pausedBurst, ctx, { groups, global, flags }, (env) => burst(env, ctx.quick ? 200 : 1000, true, ctx.log)),
};
