import { setTimeout as delay } from 'node:timers/promises';
import type { Env } from '../env.js';
import { createPods, podSpec, until } from '../kube.js';
import { ANCHORS, anchor, historyTarget, target } from '../result.js';
import { inEnv, peakVms, round, type Scenario } from '../scenario.js';

// 120 pods that each need their own node, in a group whose VMs take 45 s to join, plus a probe pod in another group
// (VMs join at once) created while the 120 wait: the probe's wait must not depend on them. Before issue 9 each
// joining VM held an activity slot and the probe waited 45.6 s for its VM (0.87 s otherwise).

const BIG = { cpu: '3', memory: '256Mi' };
const JOIN_DELAY_MS = 45_000;
/** After the 120 run, wait this long for a late extra VM. */
const SETTLE_MS = 10_000;

/** Creates one probe pod in the fast group and times Unschedulable -> create call and -> Running. */
async function probe(env: Env, name: string): Promise<{ toCreateMs: number; toRunningMs: number }> {
  const fast = env.group('fast');
  const before = fast.sim.requests().length;
  env.watch.created(name);
  await env.core.createNamespacedPod({
    namespace: env.namespace,
    body: podSpec(name, env.namespace, { ...BIG, group: fast.name }),
  });
  const created = await until(
    `${name}'s VM create call`,
    () =>
      fast.sim
        .requests()
        .slice(before)
        .find((r) => r.method === 'POST' && r.status === 201),
    120_000,
    50,
  );
  await until(`${name} Running`, () => env.watch.running([name]) === 1, 120_000, 100);
  const t = env.watch.pods.get(name)!;
  return { toCreateMs: created.at - t.unschedulableMs!, toRunningMs: t.runningMs! - t.createdMs! };
}

export const joins: Scenario = {
  name: 'joins',
  description:
    '120 pods (3 CPU) each needing a node, in a group whose VMs join after 45 s, plus a probe pod in a group whose ' +
    'VMs join at once, created while the 120 wait (and once before, idle, for comparison)',
  run: (ctx) =>
    inEnv(
      joins,
      ctx,
      {
        groups: [
          { suffix: 'slow', cpus: 4, ramGib: 8, joinDelayMs: JOIN_DELAY_MS, maxSize: 200 },
          { suffix: 'fast', cpus: 4, ramGib: 8, joinDelayMs: 0, maxSize: 10 },
        ],
        global: ['node-provision-timeout = 3m', 'scale-down-unneeded-time = 10m'],
        flags: ['--scan-interval=10s', '--scale-down-delay-after-add=10m'],
      },
      async (env) => {
        const count = ctx.quick ? 30 : 120;
        const idle = await probe(env, 'probe-idle');
        ctx.log(`idle probe: Unschedulable -> create ${idle.toCreateMs} ms`);
        const slow = env.group('slow');
        const peak = peakVms(env);
        const names = Array.from({ length: count }, (_, i) => `join-${i}`);
        const t0 = Date.now();
        for (const n of names) env.watch.created(n, t0);
        await createPods(
          env.core,
          names.map((n) => podSpec(n, env.namespace, { ...BIG, group: slow.name })),
          20,
        );
        const slowCreates = () => env.creates().filter((c) => c.group === slow.name).length;
        await until(`${count} VMs created in ${slow.name}`, () => slowCreates() >= count, 120_000, 100);
        const allCreatedMs = Date.now() - t0;
        ctx.log(`${count} VMs created in ${round(allCreatedMs / 1000, 1)} s; probing while they join`);
        // Let every scale-up settle into waiting for its VMs before probing.
        await delay(3000);
        const loaded = await probe(env, 'probe-during-joins');
        const stillJoining = env.watch.liveNodes([slow.name]) < count;
        ctx.log(
          `probe during joins: Unschedulable -> create ${loaded.toCreateMs} ms (joins still pending: ${stillJoining})`,
        );
        await until(`${count} pods Running`, () => env.watch.running(names) === count, JOIN_DELAY_MS + 180_000, 250);
        const allRunningMs = Date.now() - t0;
        await delay(SETTLE_MS);
        const made = slowCreates();
        return {
          figure: { name: 'probe Unschedulable -> create, during 120 joins', value: loaded.toCreateMs, unit: 'ms' },
          figures: {
            'idle probe: Unschedulable -> create ms': idle.toCreateMs,
            'idle probe: created -> Running ms': idle.toRunningMs,
            'probe during joins: created -> Running ms': loaded.toRunningMs,
            'probe ran while the joins were pending': String(stillJoining),
            [`${count} VM creates done after s`]: round(allCreatedMs / 1000, 1),
            [`${count} pods Running after s`]: round(allRunningMs / 1000, 1),
          },
          vms: { made, minimum: count, peak: peak.stop() },
          historyFromMs: t0,
          anchors: [
            anchor('probe during joins / cluster-autoscaler 30 s SLO', loaded.toCreateMs, ANCHORS.caScaleUpSloMs),
          ],
          targets: (h) => [
            target(`${count} one-per-node pods get ${count} VMs`, `${count}`, `${made}`, made === count),
            target(
              'probe not held up by the joins (Unschedulable -> create)',
              '< 250 ms, with the joins pending',
              `${loaded.toCreateMs} ms (idle ${idle.toCreateMs} ms)`,
              loaded.toCreateMs < 250 && stillJoining,
            ),
            historyTarget(h),
          ],
        };
      },
    ),
};
