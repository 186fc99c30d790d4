import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ApiException, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, freshNamespace, isReady, kubeClients, kwokNode } from './helpers/kube.js';

// These tests prove the local stack is made of real parts: each asks something only the real component does.

describe('Temporal dev server', () => {
  it('runs a workflow with a timer and an activity on a real worker', async () => {
    const address = inject('temporalAddress');
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      const taskQueue = `smoke-${randomBytes(4).toString('hex')}`;
      const worker = await Worker.create({
        connection: nativeConnection,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('./workflows/smoke.ts', import.meta.url)),
        activities: { echo: async (text: string) => text.toUpperCase() },
      });
      const client = new Client({ connection });
      const result = await worker.runUntil(
        client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: `smoke/${taskQueue}`, args: ['hello'] }),
      );
      expect(result).toBe('workflow saw: HELLO');
      const history = await client.workflow.getHandle(`smoke/${taskQueue}`).fetchHistory();
      expect(history.events?.some((e) => e.timerStartedEventAttributes)).toBe(true);
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});

describe('Kubernetes control plane with KWOK', () => {
  const { core, apps, policy } = kubeClients();
  let ns = '';
  const nodeName = `smoke-node-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    ns = await freshNamespace(core, 'smoke');
    await core.createNode({ body: kwokNode(nodeName, { cpu: '2', memory: '4Gi', labels: { 'smoke/pool': 'a' } }) });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
  });

  function pod(name: string, cpu: string, labels: Record<string, string> = {}): V1Pod {
    return {
      metadata: { name, labels },
      spec: {
        nodeSelector: { 'smoke/pool': 'a' },
        containers: [
          { name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu, memory: '64Mi' } } },
        ],
      },
    };
  }

  it('makes a Node Ready through KWOK, then binds a pod to it and runs it', async () => {
    await eventually('node Ready', async () => isReady(await core.readNode({ name: nodeName })));
    await core.createNamespacedPod({ namespace: ns, body: pod('fits', '500m') });
    const running = await eventually('pod Running', async () => {
      const p = await core.readNamespacedPod({ name: 'fits', namespace: ns });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(running.spec?.nodeName).toBe(nodeName);
    expect(running.status?.podIP).toMatch(/^10\.0\./);
  });

  it('has the scheduler mark a pod too big for every node Unschedulable', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('too-big', '64') });
    const condition = await eventually('PodScheduled=False', async () => {
      const p = await core.readNamespacedPod({ name: 'too-big', namespace: ns });
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(condition.reason).toBe('Unschedulable');
    expect(condition.message).toMatch(/Insufficient cpu/);
  });

  it('creates pods for a scaled-up Deployment through the controller-manager', async () => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: pod('x', '10m').spec! },
        },
      },
    });
    await apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    const pods = await eventually('3 running web pods', async () => {
      const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      const runningPods = list.items.filter((p) => p.status?.phase === 'Running');
      return runningPods.length === 3 ? runningPods : undefined;
    });
    expect(pods.every((p) => p.metadata?.ownerReferences?.[0]?.kind === 'ReplicaSet')).toBe(true);
  });

  it('refuses an eviction that a PodDisruptionBudget forbids with 429, and allows it once the budget allows', async () => {
    const labels = { app: 'guarded' };
    await core.createNamespacedPod({ namespace: ns, body: pod('guarded', '10m', labels) });
    await eventually(
      'guarded Running',
      async () => (await core.readNamespacedPod({ name: 'guarded', namespace: ns })).status?.phase === 'Running',
    );
    await policy.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: 'guard' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
    });
    await eventually('PDB observed', async () => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ name: 'guard', namespace: ns });
      return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.expectedPods === 1;
    });
    const evict = () =>
      core.createNamespacedPodEviction({
        name: 'guarded',
        namespace: ns,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'guarded', namespace: ns } },
      });
    const refusal = await evict().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(ApiException);
    expect((refusal as ApiException<string>).code).toBe(429);
    expect((refusal as ApiException<string>).body).toMatch(/disruption budget/);

    await policy.deleteNamespacedPodDisruptionBudget({ name: 'guard', namespace: ns });
    await evict();
    await eventually('evicted pod gone', async () =>
      core.readNamespacedPod({ name: 'guarded', namespace: ns }).then(
        () => false,
        (err: unknown) => (err as ApiException<string>).code === 404,
      ),
    );
  });
});
