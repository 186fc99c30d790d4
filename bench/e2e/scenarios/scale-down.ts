import { setTimeout as delay } from 'node:timers/promises';
import { createPods, podSpec, until } from '../kube.js';
import { stats } from '../history.js';
import { ANCHORS, anchor, historyTarget, target } from '../result.js';
import { inEnv, peakVms, type Scenario } from '../scenario.js';

// Nodes left empty when their pods go: how long past --scale-down-unneeded-time until the VM is deleted and the
// Node is gone, hop by hop (scale-down workflow started, VM delete call, Node deleted).

const UNNEEDED_MS = 10_000;
const NODES = 3;

export const scaleDown: Scenario = {
  name: 'scale-down',
  description: `${NODES} nodes made empty at once (their pods deleted), --scale-down-unneeded-time 10s, --scale-down-delay-after-add 0s`,
  run: (ctx) =>
    inEnv(
      scaleDown,
      ctx,
      {
        groups: [{ suffix: 'a', cpus: 4, ramGib: 8, joinDelayMs: 0, maxSize: 10 }],
        global: ['node-provision-timeout = 60s'],
        flags: [
          '--scan-interval=10s',
          `--scale-down-unneeded-time=${UNNEEDED_MS / 1000}s`,
          '--scale-down-delay-after-add=0s',
        ],
      },
      async (env) => {
        const group = env.group('a');
        const names = Array.from({ length: NODES }, (_, i) => `holder-${i}`);
        for (const n of names) env.watch.created(n);
        await createPods(
          env.core,
          names.map((n) => podSpec(n, env.namespace, { cpu: '3', memory: '256Mi', group: group.name })),
        );
        await until(`${NODES} pods Running`, () => env.watch.running(names) === NODES, 120_000);
        const nodes = names.map((n) => env.watch.pods.get(n)!.node!);
        const peak = peakVms(env);
        await delay(2000);
        await env.core.deleteCollectionNamespacedPod({ namespace: env.namespace, gracePeriodSeconds: 0 });
        await until(
          'the pods gone',
          () => names.every((n) => env.watch.pods.get(n)?.deletedMs !== undefined),
          30_000,
          50,
        );
        const emptyAt = Math.max(...names.map((n) => env.watch.pods.get(n)!.deletedMs!));
        await until(
          `${NODES} nodes removed`,
          () => env.vmCount() === 0 && nodes.every((n) => env.watch.nodes.get(n)?.deletedMs !== undefined),
          180_000,
          100,
        );
        const deletes = env.deletes();
        const started = new Map<string, number>();
        for await (const w of env.client.workflow.list({ query: "WorkflowType = 'scaleDownWorkflow'" }))
          started.set(w.workflowId.replace(/^scale-down\//, ''), w.startTime.getTime());
        const per = nodes.map((node) => {
          const hostname = node.replace(/-[0-9a-f]{8}$/, '');
          const vmDeleted = deletes.find((d) => d.path.endsWith(`/nodes/${hostname}`))?.at ?? NaN;
          return {
            node,
            workflowStarted: (started.get(node) ?? NaN) - emptyAt,
            vmDeleted: vmDeleted - emptyAt,
            nodeDeleted: (env.watch.nodes.get(node)?.deletedMs ?? NaN) - emptyAt,
          };
        });
        const vmAfter = stats(per.map((p) => p.vmDeleted))!;
        const overhead = vmAfter.max - UNNEEDED_MS;
        const vmBeforeNode = per.filter((p) => p.vmDeleted <= p.nodeDeleted).length;
        return {
          figure: { name: 'empty -> VM deleted, slowest', value: vmAfter.max, unit: 'ms' },
          figures: {
            'empty -> scale-down started ms': per.map((p) => p.workflowStarted).join(', '),
            'empty -> VM delete call ms': per.map((p) => p.vmDeleted).join(', '),
            'empty -> Node deleted ms': per.map((p) => p.nodeDeleted).join(', '),
            'beyond the 10 s unneeded time, slowest ms': overhead,
          },
          vms: { made: env.creates().length, minimum: NODES, peak: peak.stop() },
          anchors: [
            anchor(
              'time beyond the unneeded time / cluster-autoscaler 10 s scan interval',
              overhead,
              ANCHORS.caScanIntervalMs,
            ),
          ],
          targets: (h) => [
            target(
              'every empty node removed, its VM before its Node',
              `${NODES}/${NODES}`,
              `${vmBeforeNode}/${NODES}`,
              vmBeforeNode === NODES,
            ),
            historyTarget(h),
          ],
        };
      },
    ),
};
