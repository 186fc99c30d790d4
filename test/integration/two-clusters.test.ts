import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../src/simulator/server.js';
import { autoscalerWorkflowId, clusterTag, taskQueueFor } from '../../src/shared/ids.js';
import type { RunningWorker } from '../../src/worker.js';
import { eventually, kubeClients } from './helpers/kube.js';
import { startProduct, startStackWorker, writeCloudConfig, type Product } from './helpers/product.js';

// Two clusters, one Temporal namespace: each has its own worker, simulated Slicer and tokens. With one shared task
// queue, either worker could pick up the other cluster's tasks and act with the wrong config and tokens; with one
// queue per cluster every workflow task and activity of a cluster runs on that cluster's worker. The histories say
// which worker ran each task (its identity), so the test reads them.

interface Side {
  cluster: string;
  group: string;
  sim: RunningSimulator;
  worker: RunningWorker;
  ns: string;
  product: Product;
}

describe('two clusters on one Temporal namespace', () => {
  const { core } = kubeClients();
  const sides: Side[] = [];
  let client: Client;

  async function side(label: string): Promise<Side> {
    const product = await startProduct({
      cluster: `${label}-${randomBytes(2).toString('hex')}`,
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 3'] }],
      global: ['node-provision-timeout = 60s'],
      flags: ['--scan-interval=1s'],
      joinDelayMs: 300,
    });
    const { cluster, groups, sim, ns } = product;
    return { cluster, group: groups[0]!, sim, worker: product.worker()!, ns, product };
  }

  beforeAll(async () => {
    sides.push(await side('blue'), await side('green'));
    // Either cluster's client will do: both are on the one Temporal namespace.
    client = sides[0]!.product.client;
  });

  afterAll(async () => {
    for (const s of sides) await s.product.stop();
  });

  it('each worker polls its own queue and runs only its own cluster: VMs, workflow tasks and activities', async () => {
    expect(sides.map((s) => s.worker.taskQueue)).toEqual(sides.map((s) => taskQueueFor(s.cluster)));
    for (const s of sides) {
      for (const name of ['a', 'b']) {
        await core.createNamespacedPod({
          namespace: s.ns,
          body: {
            metadata: { name },
            spec: {
              nodeSelector: { 'slicer/hostgroup': s.group },
              containers: [
                { name: 'c', image: 'registry.invalid/x:1', resources: { requests: { cpu: '1200m', memory: '1Gi' } } },
              ],
            },
          },
        });
      }
    }
    for (const s of sides) {
      await eventually(
        `both pods of ${s.cluster} Running`,
        async () =>
          (await core.listNamespacedPod({ namespace: s.ns })).items.filter((p) => p.status?.phase === 'Running')
            .length === 2,
        120_000,
      );
    }

    for (const s of sides) {
      // Every VM in a cluster's Slicer was made for that cluster.
      expect(s.sim.vms().length).toBeGreaterThanOrEqual(2);
      expect(s.sim.vms().every((vm) => vm.tags.includes(clusterTag(s.cluster)))).toBe(true);

      const identity = s.worker.worker.options.identity;
      const ids: string[] = [];
      for await (const w of client.workflow.list({
        query: `AutoscalerCluster = '${s.cluster}' OR NodeGroup = '${s.group}'`,
      }))
        ids.push(w.workflowId);
      expect(ids).toContain(autoscalerWorkflowId(s.cluster));
      expect(ids.filter((id) => id.startsWith(`scale-up/${s.group}/`)).length).toBeGreaterThanOrEqual(1);
      let activities = 0;
      for (const id of ids) {
        const description = await client.workflow.getHandle(id).describe();
        expect(description.taskQueue, id).toBe(taskQueueFor(s.cluster));
        const history = await client.workflow.getHandle(id).fetchHistory();
        for (const e of history.events ?? []) {
          const started = e.activityTaskStartedEventAttributes ?? e.workflowTaskStartedEventAttributes;
          if (!started) continue;
          if (e.activityTaskStartedEventAttributes) activities += 1;
          expect(started.identity, `${id} event ${e.eventId}`).toBe(identity);
        }
      }
      // Not a vacuous pass: plans, VM creates and node waits all ran and were checked.
      expect(activities).toBeGreaterThanOrEqual(3);
    }
  });

  it('refuses to start beside an evaluator an older release left on the shared queue, and says how to move it', async () => {
    const cluster = `old-${randomBytes(2).toString('hex')}`;
    const configPath = writeCloudConfig(cluster, [
      '[global]',
      'k3s-url = https://127.0.0.1:6443',
      `k3s-token = K10-${cluster}-${randomBytes(6).toString('hex')}`,
      `cluster-name = ${cluster}`,
      `[nodegroup "${cluster}-x86"]`,
      `slicer-url = ${sides[0]!.sim.url}`,
      'slicer-token = irrelevant-here',
    ]);
    // What a release before per-cluster queues left running: the evaluator on 'slicer-autoscaler'.
    const legacy = await client.workflow.start('autoscalerWorkflow', {
      taskQueue: 'slicer-autoscaler',
      workflowId: autoscalerWorkflowId(cluster),
      args: [{ cluster }],
    });
    try {
      await expect(startStackWorker(configPath, [])).rejects.toThrow(
        new RegExp(
          `runs on task queue 'slicer-autoscaler', not this cluster's 'slicer-autoscaler/${cluster}'[\\s\\S]*temporal workflow terminate -w autoscaler/${cluster}`,
        ),
      );
      expect((await legacy.describe()).status.name).toBe('RUNNING');
    } finally {
      await legacy.terminate('test over');
    }
  });
});
