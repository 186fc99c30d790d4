import { setTimeout as delay } from 'node:timers/promises';
import { buildUserdata } from '../../../src/slicer/userdata.js';
import { statusQuery } from '../../../src/workflows/messages.js';
import { runsOf, summarize } from '../history.js';
import { createPods, inParallel, podSpec, retrying, until } from '../kube.js';
import { ANCHORS, anchor, historyTarget, mb, target } from '../result.js';
import { inEnv, round, type Scenario } from '../scenario.js';

// A cluster of 1,000 nodes x 30 pods, made behind the autoscaler's back (VMs created through the simulators, pods
// bound straight to their nodes) while the worker watches it grow, then held steady with a trickle of pod churn:
// history per evaluation, continue-as-new spacing, plan time and the worker's memory with everything cached.

const PODS_PER_NODE = 30;
/** 30 x 100m = 3 of 4 CPUs: above the 0.5 utilization threshold, so no node is a scale-down candidate. */
const POD = { cpu: '100m', memory: '128Mi' };
/** One pod comes and one goes this often during the steady window (a quiet cluster of this size churns more). */
const CHURN_EVERY_MS = 1000;

export const steady: Scenario = {
  name: 'steady-1000',
  description:
    '1,000 nodes (two groups, VMs created through the simulators) with 30 pods each bound to them, then a steady ' +
    'window with one pod created and one deleted every second',
  run: (ctx) => {
    const nodes = ctx.quick ? 200 : 1000;
    const windowMs = ctx.quick ? 60_000 : 180_000;
    return inEnv(
      steady,
      ctx,
      {
        groups: [
          { suffix: 'a', cpus: 4, ramGib: 8, joinDelayMs: 0, maxSize: nodes },
          { suffix: 'b', cpus: 4, ramGib: 8, joinDelayMs: 0, maxSize: nodes },
        ],
        global: ['node-provision-timeout = 2m', 'scale-down-unneeded-time = 10m'],
        flags: ['--scan-interval=10s', '--scale-down-delay-after-add=10m'],
      },
      async (env) => {
        const t0 = Date.now();
        const groups = ['a', 'b'].map((s) => ({ group: env.group(s), client: env.slicerClient(s) }));
        // VMs as if an operator had made them: same userdata (labels) as ours, so they join as managed nodes.
        await inParallel(
          Array.from({ length: nodes }, (_, i) => groups[i % 2]!),
          16,
          ({ group, client }) =>
            retrying(() =>
              client.createVm(group.name, {
                userdata: buildUserdata({
                  group: group.name,
                  k3sUrl: 'https://127.0.0.1:6443',
                  labels: {},
                  taints: [],
                }),
              }),
            ),
        );
        for (const g of groups) await g.client.close();
        const names = await until(
          `${nodes} Nodes`,
          () => {
            const live = [...env.watch.nodes.entries()].filter(([, n]) => n.deletedMs === undefined).map(([k]) => k);
            return live.length >= nodes ? live : undefined;
          },
          300_000,
          500,
        );
        const nodesSec = round((Date.now() - t0) / 1000, 1);
        ctx.log(`${nodes} nodes in ${nodesSec} s; binding ${nodes * PODS_PER_NODE} pods`);
        const podNames: string[] = [];
        const pods = names.flatMap((node, n) =>
          Array.from({ length: PODS_PER_NODE }, (_, i) => {
            const name = `p-${n}-${i}`;
            podNames.push(name);
            return podSpec(name, env.namespace, { ...POD, nodeName: node });
          }),
        );
        const tp = Date.now();
        for (let i = 0; i < pods.length; i += 5000) {
          await createPods(env.core, pods.slice(i, i + 5000), 64);
          ctx.log(
            `${Math.min(i + 5000, pods.length)} pods created, worker RSS ${env.worker!.sampler.now().toFixed(0)} MiB`,
          );
        }
        await until(`${pods.length} pods Running`, () => env.watch.running(podNames) === pods.length, 900_000, 1000);
        const grownSec = round((Date.now() - t0) / 1000, 1);
        ctx.log(
          `grown in ${grownSec} s (pods ${round((Date.now() - tp) / 1000, 1)} s); steady for ${windowMs / 1000} s`,
        );
        const growthPeakMiB = env.worker!.sampler.peakMiB;

        // The steady window: one pod created on some node and an older one deleted, every second.
        await delay(5000);
        const windowFrom = Date.now();
        env.worker!.sampler.startPhase('steady');
        const churned: string[] = [];
        for (let i = 0; Date.now() - windowFrom < windowMs; i++) {
          const name = `churn-${i}`;
          await env.core.createNamespacedPod({
            namespace: env.namespace,
            body: podSpec(name, env.namespace, { cpu: '10m', memory: '16Mi', nodeName: names[i % names.length]! }),
          });
          churned.push(name);
          if (churned.length > 5)
            await env.core.deleteNamespacedPod({
              name: churned.shift()!,
              namespace: env.namespace,
              gracePeriodSeconds: 0,
            });
          await delay(CHURN_EVERY_MS);
        }
        const windowTo = Date.now();
        const steadyPeakMiB = env.worker!.sampler.phasePeak('steady');

        // A worker that starts on this cluster (a deploy, a failover): it lists every Node and Pod at once.
        const restartAt = Date.now();
        const fresh = await env.restartWorker();
        const readyAfterSec = round((Date.now() - restartAt) / 1000, 1);
        await until(
          'a plan by the restarted worker',
          async () => (await env.evaluator().query(statusQuery)).lastEvaluationAt! > restartAt,
          120_000,
          1000,
        );
        await delay(10_000);
        const restartPeakMiB = fresh.sampler.peakMiB;
        ctx.log(`restarted worker: ready after ${readyAfterSec} s, peak RSS ${Math.round(restartPeakMiB)} MiB`);

        const runs = await runsOf(env.client, env.evaluator().workflowId);
        const growth = summarize(runs, t0, windowFrom);
        const inWindow = summarize(runs, windowFrom, windowTo);
        const canSec = inWindow.continueAsNewEverySec?.median ?? inWindow.projectedContinueAsNewSec ?? NaN;
        const planP99 = inWindow.planMs?.p99 ?? NaN;
        return {
          figure: {
            name: `worker RSS, ${nodes} nodes x ${PODS_PER_NODE} pods cached, steady peak`,
            value: mb(steadyPeakMiB),
            unit: 'MB',
          },
          figures: {
            [`${nodes} Nodes after s`]: nodesSec,
            'grown (all pods Running) after s': grownSec,
            'worker peak RSS while growing MiB': Math.round(growthPeakMiB),
            'worker peak RSS in the steady window MiB': Math.round(steadyPeakMiB),
            'restarted worker: ready (cache listed) after s': readyAfterSec,
            'restarted worker: peak RSS MiB': Math.round(restartPeakMiB),
            'growth: continue-as-new': growth.continuedAsNew,
            'growth: evaluations': growth.evaluations,
            'growth: history bytes per evaluation p99': growth.bytesPerEvaluation?.p99 ?? NaN,
            'growth: plan ms p99': growth.planMs?.p99 ?? NaN,
            'steady: evaluations per minute': round((inWindow.evaluations / (windowTo - windowFrom)) * 60_000, 1),
            'steady: history events per minute': inWindow.eventsPerMinute ?? NaN,
            'steady: continue-as-new': inWindow.continuedAsNew,
            'steady: continue-as-new every s (measured, else projected)': canSec,
            'steady: plan ms': inWindow.planMs
              ? { p50: inWindow.planMs.median, p99: inWindow.planMs.p99, max: inWindow.planMs.max }
              : ({} as Record<string, number>),
          },
          vms: { made: nodes, minimum: nodes, peak: env.vmCount() },
          historyFromMs: windowFrom,
          anchors: [
            anchor('plan p99 at 1,000 nodes / cluster-autoscaler 10 s loop', planP99, ANCHORS.caLoopAt1000NodesMs),
            anchor('worker steady RSS / Karpenter 260 MB gate', mb(steadyPeakMiB), ANCHORS.karpenterMemoryMb),
          ],
          targets: (h) => [
            historyTarget(h),
            target(
              'continue-as-new no more often than every few minutes',
              '>= 180 s apart',
              `${canSec} s`,
              canSec >= 180,
            ),
            target(
              `worker RSS with ${nodes} nodes x ${PODS_PER_NODE} pods cached`,
              '< 400 MB',
              `${mb(steadyPeakMiB)} MB steady, ${mb(restartPeakMiB)} MB restarting, ${mb(growthPeakMiB)} MB growing`,
              mb(Math.max(steadyPeakMiB, restartPeakMiB)) < 400,
            ),
          ],
        };
      },
    );
  },
};
