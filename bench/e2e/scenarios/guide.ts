import { setTimeout as delay } from 'node:timers/promises';
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { minimumNodes } from '../minimum.js';
import { until } from '../kube.js';
import { ANCHORS, anchor, historyTarget, target } from '../result.js';
import { inEnv, peakVms, type Scenario } from '../scenario.js';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_VALUE } from '../../../src/simulator/kwok.js';

// The Slicer guide's "scale to hundreds of Pods" (docs.slicervm.com/examples/autoscaling-k3s): a busybox `sleep`
// Deployment requesting 50m / 50Mi, the control plane tainted so every replica needs a worker, scaled
// 100 -> 300 -> 400 -> 1 with a pause between steps, under the guide's cluster-autoscaler settings.

const POD = { cpu: '50m', memory: '50Mi' };
const SHAPE = { cpus: 4, ramGib: 8 };
const STEPS = [100, 300, 400];
/** After a step's pods all run, wait this long for a late extra VM before the next step. */
const SETTLE_MS = 5000;

function sleepDeployment(namespace: string): V1Deployment {
  return {
    metadata: { name: 'sleep', namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'sleep' } },
      template: {
        metadata: { labels: { app: 'sleep' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'sleep',
              image: 'docker.io/library/busybox:latest',
              command: ['sleep', 'infinity'],
              imagePullPolicy: 'IfNotPresent',
              resources: { requests: POD },
            },
          ],
        },
      },
    },
  };
}

export const guide: Scenario = {
  name: 'guide',
  description:
    "The Slicer guide's scenario: Deployment sleep (50m / 50Mi), control plane tainted NoSchedule, scaled " +
    "100 -> 300 -> 400 -> 1 over two groups of 4 CPU / 8 GiB whose VMs join after 2 s, with the guide's " +
    '--scale-down-unneeded-time 30s and --scale-down-delay-after-add 30s',
  run: (ctx) =>
    inEnv(
      guide,
      ctx,
      {
        groups: [
          { suffix: 'a', ...SHAPE, joinDelayMs: 2000, maxSize: 10 },
          { suffix: 'b', ...SHAPE, joinDelayMs: 2000, maxSize: 10 },
        ],
        global: ['node-provision-timeout = 60s'],
        flags: ['--scan-interval=10s', '--scale-down-unneeded-time=30s', '--scale-down-delay-after-add=30s'],
      },
      async (env) => {
        const apps = env.kc.makeApiClient(AppsV1Api);
        // The control plane, tainted as the guide says, so it takes none of the replicas.
        const cp = 'slicer-cp-1';
        await env.core.createNode({
          body: {
            metadata: {
              name: cp,
              annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_VALUE },
              labels: { 'kubernetes.io/hostname': cp },
            },
            spec: { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
            status: {
              capacity: { cpu: '4', memory: '8Gi', pods: '110' },
              allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
            },
          },
        });
        await apps.createNamespacedDeployment({ namespace: env.namespace, body: sleepDeployment(env.namespace) });
        const scale = (replicas: number) =>
          apps.patchNamespacedDeployment(
            { name: 'sleep', namespace: env.namespace, body: { spec: { replicas } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        const running = () => env.watch.runningNow(['app', 'sleep']);
        const peak = peakVms(env);
        const steps: Record<string, number> = {};
        let firstCreateMs: number | undefined;
        const t0 = Date.now();
        for (const replicas of STEPS) {
          const at = Date.now();
          await scale(replicas);
          await until(`${replicas} sleep pods Running`, () => running() >= replicas, 300_000, 250);
          steps[`${replicas} Running after s`] = Math.round((Date.now() - at) / 100) / 10;
          firstCreateMs ??= env.creates()[0]?.at;
          await delay(SETTLE_MS);
          steps[`VMs at ${replicas}`] = env.vmCount();
          ctx.log(`${replicas} running, ${env.vmCount()} VMs (minimum ${minimumNodes(replicas, SHAPE, POD)})`);
        }
        const peakAtRamp = peak.stop();
        const minimum = minimumNodes(Math.max(...STEPS), SHAPE, POD);
        const downAt = Date.now();
        await scale(1);
        const downTo = minimumNodes(1, SHAPE, POD);
        await until(`scale-down to ${downTo} VM`, () => env.vmCount() === downTo, 600_000, 500);
        const scaleDownSec = Math.round((Date.now() - downAt) / 100) / 10;
        ctx.log(`scaled down to ${downTo} VM in ${scaleDownSec} s`);
        const firstReactionMs = firstCreateMs ? firstCreateMs - t0 : NaN;
        return {
          figure: { name: 'peak VMs (minimum 5)', value: peakAtRamp, unit: 'VMs' },
          figures: {
            ...steps,
            'replicas 1 -> 1 VM after s': scaleDownSec,
            'scale to 100 -> first create call ms': firstReactionMs,
            minimumPerStep: STEPS.map((r) => `${r}: ${minimumNodes(r, SHAPE, POD)}`).join(', '),
          },
          vms: { made: env.creates().length, minimum, peak: peakAtRamp },
          anchors: [
            anchor(
              'scale to 100 -> first create / cluster-autoscaler 30 s SLO',
              firstReactionMs,
              ANCHORS.caScaleUpSloMs,
            ),
          ],
          targets: (h) => [
            target('peak VMs at the minimum', `${minimum}`, `${peakAtRamp}`, peakAtRamp === minimum),
            historyTarget(h),
          ],
        };
      },
    ),
};
