import { setTimeout as delay } from 'node:timers/promises';
import type { Env } from '../env.js';
import { runsOf, scaleUpStart, stats, timeline, type Stats } from '../history.js';
import { podSpec, until } from '../kube.js';
import { ANCHORS, anchor, historyTarget, target } from '../result.js';
import { inEnv, peakVms, type Scenario } from '../scenario.js';

/** After a pod runs, wait this long for a second VM ordered for it (one would come within a plan or two). */
const SETTLE_MS = 1500;
const POD = { cpu: '3', memory: '256Mi' };

/** One pod's path from Unschedulable to the Slicer create call, each hop in ms. */
interface Hops {
  pod: string;
  group: string;
  /** Unschedulable (seen by our watch) -> clusterChanged signal in the evaluator's history. */
  watch: number;
  /** Signal -> planScaling scheduled. */
  signal: number;
  /** planScaling scheduled -> completed. */
  plan: number;
  /** Plan completed -> scale-up workflow started. */
  childStart: number;
  /** Scale-up started -> Slicer create call received (launchVm scheduled, tag lookup, secret, create). */
  create: number;
  /** Unschedulable -> create call. */
  total: number;
  /** Pod created -> create call. */
  fromCreated: number;
}

const OP_TAG = 'slicer-autoscaler/op=';

/** Times each pod's hops from the evaluator's and the scale-ups' histories and the simulators' request logs. */
async function hopsOf(env: Env, pods: { name: string; group: string }[]): Promise<{ hops: Hops[]; missing: string[] }> {
  const events = timeline(await runsOf(env.client, env.evaluator().workflowId));
  const hops: Hops[] = [];
  const missing: string[] = [];
  for (const pod of pods) {
    const t = env.watch.pods.get(pod.name);
    const reason = `pod ${env.namespace}/${pod.name} Unschedulable`;
    const signal = events.find((e) => e.kind === 'signal' && e.detail.includes(reason));
    const child =
      signal && events.find((e) => e.kind === 'child-initiated' && e.group === pod.group && e.ms >= signal.ms);
    const planned = child && events.filter((e) => e.kind === 'plan-scheduled' && e.ms <= child.ms).at(-1);
    const done = planned && events.find((e) => e.kind === 'plan-completed' && e.ms >= planned.ms);
    const group = env.groups.find((g) => g.name === pod.group)!;
    const vm =
      child && group.sim.vms().find((v) => v.tags.some((tag) => tag.startsWith(`${OP_TAG}${child.detail[0]}#`)));
    const call = vm && group.sim.requests().find((r) => r.method === 'POST' && r.hostname === vm.hostname);
    if (!t?.unschedulableMs || !t.createdMs || !signal || !child || !planned || !done || !call) {
      missing.push(pod.name);
      continue;
    }
    const started = await scaleUpStart(env.client, child.detail[0]!);
    hops.push({
      pod: pod.name,
      group: pod.group,
      watch: signal.ms - t.unschedulableMs,
      signal: planned.ms - signal.ms,
      plan: done.ms - planned.ms,
      childStart: started.startedMs - done.ms,
      create: call.at - started.startedMs,
      total: call.at - t.unschedulableMs,
      fromCreated: call.at - t.createdMs,
    });
  }
  return { hops, missing };
}

export const reaction: Scenario = {
  name: 'reaction',
  description:
    '50 single pods one after another (3 CPU, each needs a new 4 CPU / 8 GiB node), alternating between a group whose ' +
    'VMs join at once and one whose VMs join after 2 s; each pod runs before the next is created',
  run: (ctx) =>
    inEnv(
      reaction,
      ctx,
      {
        groups: [
          { suffix: 'j0', cpus: 4, ramGib: 8, joinDelayMs: 0, maxSize: 60 },
          { suffix: 'j2', cpus: 4, ramGib: 8, joinDelayMs: 2000, maxSize: 60 },
        ],
        global: ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 10m'],
        // cluster-autoscaler's default scan interval: reaction must come from the watch, not the timer.
        flags: ['--scan-interval=10s', '--scale-down-delay-after-add=10m'],
      },
      async (env) => {
        const count = ctx.quick ? 10 : 50;
        const peak = peakVms(env);
        const pods: { name: string; group: string; vms: number }[] = [];
        for (let i = 0; i < count; i++) {
          const group = env.group(i % 2 === 0 ? 'j0' : 'j2').name;
          const name = `single-${i}`;
          const createsBefore = env.creates().length;
          env.watch.created(name);
          await env.core.createNamespacedPod({
            namespace: env.namespace,
            body: podSpec(name, env.namespace, { ...POD, group }),
          });
          await until(`${name} Running`, () => env.watch.running([name]) === 1, 60_000);
          await delay(SETTLE_MS);
          pods.push({ name, group, vms: env.creates().length - createsBefore });
          if (i % 10 === 9) ctx.log(`${i + 1}/${count} pods running, ${env.creates().length} VMs made`);
        }
        const made = env.creates().length;
        const exactlyOne = pods.filter((p) => p.vms === 1).length;
        const { hops, missing } = await hopsOf(env, pods);
        const byHop = (pick: (h: Hops) => number, of = hops) => stats(of.map(pick));
        const total = byHop((h) => h.total);
        const summary = (s: Stats | undefined): Record<string, number> =>
          s ? { p50: s.median, p90: s.p90, p99: s.p99, max: s.max } : {};
        const perGroup = Object.fromEntries(
          env.groups.map((g) => [
            `total ms, join delay ${g.joinDelayMs / 1000} s`,
            summary(
              byHop(
                (h) => h.total,
                hops.filter((h) => h.group === g.name),
              ),
            ),
          ]),
        );
        const p99 = total?.p99 ?? NaN;
        return {
          figure: { name: 'Unschedulable -> Slicer create, p99', value: p99, unit: 'ms' },
          figures: {
            'pods with exactly one VM': `${exactlyOne}/${count}`,
            'VMs per pod': pods.map((p) => p.vms).join(''),
            'watch (Unschedulable -> signal) ms': summary(byHop((h) => h.watch)),
            'signal -> plan scheduled ms': summary(byHop((h) => h.signal)),
            'plan ms': summary(byHop((h) => h.plan)),
            'plan done -> scale-up started ms': summary(byHop((h) => h.childStart)),
            'scale-up started -> create call ms': summary(byHop((h) => h.create)),
            'Unschedulable -> create call ms': summary(total),
            'pod created -> create call ms': summary(byHop((h) => h.fromCreated)),
            ...perGroup,
            ...(missing.length && { 'pods whose hops could not be timed': missing.join(', ') }),
          },
          vms: { made, minimum: count, peak: peak.stop() },
          anchors: [
            anchor('reaction p99 / cluster-autoscaler 30 s SLO', p99, ANCHORS.caScaleUpSloMs),
            anchor('reaction p99 / cluster-autoscaler 10 s scan interval', p99, ANCHORS.caScanIntervalMs),
          ],
          targets: (h) => [
            target(
              'single pods get exactly one VM',
              `${count}/${count}`,
              `${exactlyOne}/${count}`,
              exactlyOne === count,
            ),
            target('reaction p99 (Unschedulable -> create)', '< 250 ms', `${p99} ms (n=${hops.length})`, p99 < 250),
            historyTarget(h),
          ],
        };
      },
    ),
};
