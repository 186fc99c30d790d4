import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { V1Deployment, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../src/simulator/server.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { explainQuery } from '../../src/workflows/messages.js';
import { eventually, freshNamespace, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// What the scheduler would do, on the real stack: a worker with two identical simulated Slicer groups, the real
// kube-scheduler and KWOK. Each case starts from no worker nodes and ends when every VM it caused is gone again.
//
// NOTE: while issue 9 is open, a node that still carries node.kubernetes.io/not-ready when it turns Ready can cost
// an extra VM. So these tests assert "at least N nodes, and the pods placed as the constraint requires", never an
// exact VM total.

/** Above kube-scheduler's longest retry backoff (10 s), so only a real refusal outlasts it. */
const TRUST_AFTER_S = 15;

describe('planner constraints on the real stack', () => {
  const { core, apps } = kubeClients();
  const cluster = `pc-${randomBytes(2).toString('hex')}`;
  const groups = [`${cluster}-a`, `${cluster}-b`];
  const pool = { 'e2e-pool': cluster };
  let product: Product;
  let sim: RunningSimulator;
  let client: Client;
  let ns = '';

  beforeAll(async () => {
    product = await startProduct({
      cluster,
      groups: [
        { suffix: 'a', cpus: 2, ramGib: 4 },
        { suffix: 'b', cpus: 2, ramGib: 4 },
      ],
      global: [
        'default-max-size = 8',
        'node-provision-timeout = 60s',
        'scale-down-unneeded-time = 2s',
        // Our pods select this label, so nothing else in the shared stack can take them.
        `node-labels = e2e-pool=${cluster}`,
      ],
      flags: [
        '--scan-interval=1s',
        '--scale-down-delay-after-add=1s',
        '--scale-down-delay-after-delete=0s',
        `--trust-scheduler-after=${TRUST_AFTER_S}s`,
      ],
      joinDelayMs: 500,
    });
    ({ sim, client } = product);
  });

  afterEach(async () => {
    // Every case leaves the cluster as it found it: workload gone, then every VM and Node removed by scale-down.
    if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
    ns = '';
    await eventually(
      'every VM and Node of the case removed',
      async () => sim.vms().length === 0 && (await groupNodes()).length === 0,
      120_000,
    );
  });

  afterAll(async () => {
    await product?.stop();
  });

  async function groupNodes() {
    return (await core.listNode({ labelSelector: `e2e-pool=${cluster}` })).items;
  }

  /** Node name -> its group, for the nodes of this test. */
  async function groupOf(): Promise<Map<string, string>> {
    return new Map((await groupNodes()).map((n) => [n.metadata!.name!, n.metadata!.labels!['slicer/hostgroup']!]));
  }

  function deployment(name: string, replicas: number, cpu: string, extra: Partial<V1PodSpec> = {}): V1Deployment {
    const labels = { app: name };
    return {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: pool,
            containers: [
              { name: 'app', image: 'registry.invalid/x:1', resources: { requests: { cpu, memory: '64Mi' } } },
            ],
            ...extra,
          },
        },
      },
    };
  }

  /** Waits until `count` pods of the app run, and returns them. */
  async function running(app: string, count: number, timeoutMs = 120_000): Promise<V1Pod[]> {
    return eventually(
      `${count} ${app} pods Running`,
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
        const up = pods.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName);
        return up.length === count ? up : undefined;
      },
      timeoutMs,
    );
  }

  it('gives a Deployment of 4 replicas with hostname anti-affinity 4 nodes, one replica each', async () => {
    ns = await freshNamespace(core, 'anti');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 4, '100m', {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
            ],
          },
        },
      }),
    });
    // All four would fit on one 2-CPU node: only anti-affinity makes them need four.
    const pods = await running('web', 4);
    expect(new Set(pods.map((p) => p.spec!.nodeName)).size).toBe(4);
    expect((await groupNodes()).length).toBeGreaterThanOrEqual(4);
  }, 180_000);

  it('spreads a Deployment with topology spread over slicer/hostgroup across both groups', async () => {
    ns = await freshNamespace(core, 'spread');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('api', 4, '1200m', {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'slicer/hostgroup',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 'api' } },
            // With minDomains the scheduler itself also holds back while only one group has nodes, so the result
            // does not depend on which group's VMs join first.
            minDomains: 2,
          },
        ],
      }),
    });
    // 1.2 CPU each: one per 2-CPU node, so where the nodes are decides where the pods are.
    const pods = await running('api', 4);
    const groupOfNode = await groupOf();
    const perGroup = groups.map((g) => pods.filter((p) => groupOfNode.get(p.spec!.nodeName!) === g).length);
    expect(perGroup).toEqual([2, 2]);
  }, 180_000);

  it('gives two pods with the same host port two nodes', async () => {
    ns = await freshNamespace(core, 'port');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('proxy', 2, '100m', {
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/proxy:1',
            ports: [{ containerPort: 8080, hostPort: 8080 }],
            resources: { requests: { cpu: '100m', memory: '64Mi' } },
          },
        ],
      }),
    });
    const pods = await running('proxy', 2);
    expect(new Set(pods.map((p) => p.spec!.nodeName)).size).toBe(2);
  }, 180_000);

  it('uses both of two identical groups for 20 identical pods that arrive in two steps', async () => {
    ns = await freshNamespace(core, 'fair');
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('sleep', 10, '450m') });
    await running('sleep', 10);
    // As in the Slicer guide's demo: scale again once the first step runs. The group with fewer nodes gets it.
    await apps.patchNamespacedDeploymentScale({
      name: 'sleep',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 20 }],
    });
    const pods = await running('sleep', 20);
    const groupOfNode = await groupOf();
    const used = new Set(pods.map((p) => groupOfNode.get(p.spec!.nodeName!)));
    expect(used).toEqual(new Set(groups));
  }, 180_000);

  it('trusts the scheduler over the planner after a while, and makes only one node more for a pod it keeps refusing', async () => {
    ns = await freshNamespace(core, 'trust');
    const onA = { ...pool, 'slicer/hostgroup': groups[0]! };
    // A first pod makes an x86 node in group a (1.2 CPU keeps that node busy enough not to be scaled down).
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('base', 1, '1200m', { nodeSelector: onA }),
    });
    await running('base', 1);
    // The simulated nodes have no ephemeral-storage, which the planner does not model: the planner thinks this pod
    // fits next to `base`, the scheduler refuses it everywhere.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'scratch' },
        spec: {
          nodeSelector: onA,
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/x:1',
              resources: { requests: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '1Gi' } },
            },
          ],
        },
      },
    });
    const evaluator = client.workflow.getHandle(autoscalerWorkflowId(cluster));
    const verdict = async () => {
      const e = await evaluator.query(explainQuery, { pod: `${ns}/scratch` });
      return e.found ? e.verdict : undefined;
    };
    // First the planner's own view: it fits the existing node.
    expect(
      await eventually('the planner to find it room', async () => (await verdict())?.reason === 'FitsExistingNode'),
    ).toBe(true);
    // After the window, the scheduler wins: one more node of group a ...
    const scaled = await eventually(
      'a scale-up for the refused pod',
      async () => {
        const v = await verdict();
        return v?.reason === 'SchedulerRefusedFit' && v.kind === 'scale-up' ? v : undefined;
      },
      60_000,
    );
    expect(scaled.message).toMatch(/^Unschedulable for .* though it seems to fit on .*: planned as if it did not/);
    // ... which the scheduler refuses too: then no further node of group a is planned for it.
    const stopped = await eventually(
      'the planner to stop making nodes for it',
      async () => {
        const v = await verdict();
        return v?.reason === 'SchedulerRefusedFit' && v.kind === 'no-scale-up' ? v : undefined;
      },
      90_000,
    );
    expect(stopped.message).toMatch(/joined since and was refused too: no more .*-a nodes for it/);
    // Each VM carries the tag of the scale-up that made it, never reused (hostnames are).
    const made = () => new Set(sim.vms().flatMap((v) => v.tags.filter((t) => t.startsWith('slicer-autoscaler/op='))));
    const before = made();
    expect(before.size).toBeGreaterThanOrEqual(2);
    // No runaway: for two more windows no VM is made (an extra one from issue 9 may still be scaled down).
    await new Promise((r) => setTimeout(r, 2 * TRUST_AFTER_S * 1000));
    expect([...made()].filter((t) => !before.has(t))).toEqual([]);
    expect(await verdict()).toMatchObject({ reason: 'SchedulerRefusedFit', kind: 'no-scale-up' });
  }, 240_000);
});
