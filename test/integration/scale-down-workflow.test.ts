import { randomBytes } from 'node:crypto';
import type { V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDrainActivities } from '../../src/activities/drain.js';
import { createVmActivities } from '../../src/activities/vms.js';
import type { VmProvider, VmRecord } from '../../src/activities/vm-provider.js';
import { scaleDownWorkflowId } from '../../src/shared/ids.js';
import { SAFE_TO_EVICT } from '../../src/planner/scale-down/blockers.js';
import type { ScaleDownResult } from '../../src/workflows/scale-down.js';
import { eventually, freshNamespace, isReady, kubeClients, kwokNode } from './helpers/kube.js';
import { expectDeterministicReplay, temporalHarness } from './helpers/temporal.js';

// The scale-down workflow on the real Temporal server and the real control plane: real taints, real evictions
// judged by the apiserver against real PodDisruptionBudgets, pods rescheduled by the real scheduler.

class RecordingVms implements VmProvider {
  readonly deleted: string[] = [];
  /** VMs as Slicer would list them: made long ago (before any test Node), so they are the machines behind them. */
  vms: VmRecord[] = [];
  async findVmsByTag(_group: string, tag: string) {
    return this.vms.filter((v) => v.tags.includes(tag));
  }
  async listVms() {
    return this.vms;
  }
  async createVm(): Promise<{ hostname: string }> {
    throw new Error('not used');
  }
  async deleteVm(_group: string, hostname: string) {
    const existed = this.vms.some((v) => v.hostname === hostname);
    this.vms = this.vms.filter((v) => v.hostname !== hostname);
    this.deleted.push(hostname);
    return { existed };
  }
  async consoleTail() {
    return '';
  }
}

describe('scaleDownWorkflow', () => {
  const { core, apps, policy } = kubeClients();
  const id = randomBytes(2).toString('hex');
  const group = `sd${id}`;
  let ns = '';
  let harness: Awaited<ReturnType<typeof temporalHarness>>;
  const vms = new RecordingVms();

  function nodeName(host: string) {
    return `${group}-${host}-0f0f0f0f`;
  }
  async function addNode(host: string, labels: Record<string, string> = {}) {
    const name = nodeName(host);
    await core.createNode({
      body: kwokNode(name, {
        cpu: '2',
        memory: '4Gi',
        labels: { 'slicer/hostgroup': group, 'slicer/hostname': `${group}-${host}`, ...labels },
      }),
    });
    await eventually(`${name} Ready`, async () => isReady(await core.readNode({ name })));
    return name;
  }
  function podSpec(pool: string): V1Pod['spec'] {
    return {
      nodeSelector: { pool },
      containers: [
        { name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
      ],
    };
  }
  /** Creates a pod on the `pool` nodes and waits until it runs. */
  async function startPod(metadata: V1ObjectMeta & { name: string }, pool: string): Promise<void> {
    await core.createNamespacedPod({ namespace: ns, body: { metadata, spec: podSpec(pool) } });
    await eventually(
      `${metadata.name} Running`,
      async () => (await core.readNamespacedPod({ name: metadata.name, namespace: ns })).status?.phase === 'Running',
    );
  }
  async function run(node: string, host: string, drainTimeoutMs: number, vmId?: string): Promise<ScaleDownResult> {
    const worker = await harness.worker({
      ...createVmActivities({ vms, cluster: 'test', core }),
      ...createDrainActivities({ core, pollIntervalMs: 250 }),
    });
    const workflowId = `${scaleDownWorkflowId(node)}-${randomBytes(2).toString('hex')}`;
    const result = await worker.runUntil(
      harness.client.workflow.execute('scaleDownWorkflow', {
        taskQueue: harness.taskQueue,
        workflowId,
        args: [{ node, group, hostname: `${group}-${host}`, drainTimeoutMs, reason: 'test', ...(vmId && { vmId }) }],
      }),
    );
    await expectDeterministicReplay(harness.client, workflowId);
    return result;
  }

  beforeAll(async () => {
    vms.vms = ['1', '2', '3', '4'].map((h) => ({ hostname: `${group}-${h}`, tags: [], createdAtMs: 0 }));
    harness = await temporalHarness();
    ns = await freshNamespace(core, 'scale-down');
  });
  afterAll(async () => {
    await harness.close();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    for (const host of ['1', '2', '3', '4', '5', '6', '7'])
      await core.deleteNode({ name: nodeName(host) }).catch(() => undefined);
  });

  it('drains through the Eviction API, then deletes the VM and the Node; the pods move to a node that stays', async () => {
    const pool = `web-${id}`;
    const leaving = await addNode('1', { pool });
    const labels = { app: pool };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: podSpec(pool) },
        },
      },
    });
    await eventually('2 web pods running on the leaving node', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${pool}` });
      return pods.items.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName === leaving).length === 2;
    });
    const staying = await addNode('2', { pool });

    const result = await run(leaving, '1', 60_000);
    expect(result.outcome).toBe('removed');
    if (result.outcome !== 'removed') throw new Error('unreachable');
    expect(result.evicted).toHaveLength(2);
    expect(vms.deleted).toContain(`${group}-1`);
    await expect(core.readNode({ name: leaving })).rejects.toMatchObject({ code: 404 });
    await eventually('web pods running on the staying node', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${pool}` });
      return pods.items.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName === staying).length === 2;
    });
  });

  it('rolls back when a PodDisruptionBudget keeps the drain from finishing, leaving an operator cordon in place', async () => {
    const pool = `guarded-${id}`;
    const node = await addNode('3', { pool });
    const labels = { app: pool };
    // safe-to-evict: a bare pod is protected by the drain's own rules; here the PDB alone must hold it.
    await startPod({ name: 'guarded', labels, annotations: { [SAFE_TO_EVICT]: 'true' } }, pool);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: 'guard' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
    });
    await eventually('PDB observed', async () => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ name: 'guard', namespace: ns });
      return pdb.status?.expectedPods === 1;
    });
    // An operator had cordoned this node for maintenance before the scale-down began.
    await core.patchNode({ name: node, body: [{ op: 'add', path: '/spec/unschedulable', value: true }] });

    const result = await run(node, '3', 3_000);
    expect(result.outcome).toBe('rolled-back');
    if (result.outcome !== 'rolled-back') throw new Error('unreachable');
    expect(result.reason).toBe('DrainTimeout');
    expect(result.remaining).toEqual([`${ns}/guarded`]);
    expect(result.blocked[`${ns}/guarded`]).toMatch(/disruption budget/);
    expect(vms.deleted).not.toContain(`${group}-3`);

    const after = await core.readNode({ name: node });
    expect(after.spec?.taints?.some((t) => t.key === 'ToBeDeletedByClusterAutoscaler') ?? false).toBe(false);
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.metadata?.annotations?.['slicer-autoscaler/was-unschedulable']).toBeUndefined();
    expect((await core.readNamespacedPod({ name: 'guarded', namespace: ns })).status?.phase).toBe('Running');
  });

  it('uncordons a node it cordoned itself when rolling back', async () => {
    const pool = `solo-${id}`;
    const node = await addNode('4', { pool });
    const labels = { app: pool };
    await startPod({ name: 'solo', labels, annotations: { [SAFE_TO_EVICT]: 'true' } }, pool);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: 'solo-guard' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
    });
    await eventually(
      'PDB observed',
      async () =>
        (await policy.readNamespacedPodDisruptionBudget({ name: 'solo-guard', namespace: ns })).status?.expectedPods ===
        1,
    );
    const result = await run(node, '4', 2_000);
    expect(result.outcome).toBe('rolled-back');
    const after = await core.readNode({ name: node });
    expect(after.spec?.unschedulable ?? false).toBe(false);
    expect(after.spec?.taints ?? []).toEqual([]);
  });

  it('a drain that starts past its deadline (its worker died mid-drain) finishes if the pods left, else names them', async () => {
    // With a 1 ms drain timeout the drain activity always starts past its deadline, as a retry does whose worker
    // was SIGKILLed mid-drain and whose heartbeat timeout outlasted the drain timeout.
    const empty = await addNode('6', { pool: `empty-${id}` });
    vms.vms.push({ hostname: `${group}-6`, tags: [], createdAtMs: 0 });
    const removed = await run(empty, '6', 1);
    expect(removed.outcome).toBe('removed');
    expect(vms.deleted).toContain(`${group}-6`);

    const pool = `late-${id}`;
    const busy = await addNode('7', { pool });
    vms.vms.push({ hostname: `${group}-7`, tags: [], createdAtMs: 0 });
    await startPod({ name: 'late', annotations: { [SAFE_TO_EVICT]: 'true' } }, pool);
    const kept = await run(busy, '7', 1);
    expect(kept.outcome).toBe('rolled-back');
    if (kept.outcome !== 'rolled-back') throw new Error('unreachable');
    expect(kept.reason).toBe('DrainTimeout');
    expect(kept.remaining).toEqual([`${ns}/late`]);
    expect(kept.message).toContain(`still there: ${ns}/late`);
    // Past the deadline nothing is evicted: the pod still runs and the node is back in service.
    expect((await core.readNamespacedPod({ name: 'late', namespace: ns })).metadata?.deletionTimestamp).toBeUndefined();
    expect(vms.deleted).not.toContain(`${group}-7`);
    expect((await core.readNode({ name: busy })).spec?.unschedulable ?? false).toBe(false);
  });

  it('deletes the VM of a Node that is already gone, found by the VM identity the Node had', async () => {
    vms.vms.push({ hostname: `${group}-9`, tags: ['slicer-autoscaler/vm=op9-0'], createdAtMs: Date.now() });
    const result = await run(`${group}-9-gone`, '9', 10_000, 'op9-0');
    expect(result.outcome).toBe('node-gone');
    expect(vms.deleted).toContain(`${group}-9`);
  });

  it('leaves a VM alone when the Node is gone and nothing proves the VM was its (safety item 4)', async () => {
    // `<group>-8` is a newer machine that reused the hostname; the removed Node named no VM identity.
    vms.vms.push({ hostname: `${group}-8`, tags: ['slicer-autoscaler/vm=newer-0'], createdAtMs: Date.now() });
    const result = await run(`${group}-8-gone`, '8', 10_000);
    expect(result.outcome).toBe('node-gone');
    if (result.outcome !== 'node-gone') throw new Error('unreachable');
    expect(result.vmSkipped).toMatch(/cannot prove/);
    expect(vms.deleted).not.toContain(`${group}-8`);
  });

  it('refuses to evict a bare pod: the drain rolls back with nothing evicted (safety item 6)', async () => {
    const pool = `bare-${id}`;
    const node = await addNode('5', { pool });
    vms.vms.push({ hostname: `${group}-5`, tags: [], createdAtMs: 0 });
    await startPod({ name: 'bare' }, pool);
    const result = await run(node, '5', 20_000);
    expect(result.outcome).toBe('rolled-back');
    if (result.outcome !== 'rolled-back') throw new Error('unreachable');
    expect(result.reason).toBe('DrainBlocked');
    expect(result.message).toMatch(/no controller/);
    const pod = await core.readNamespacedPod({ name: 'bare', namespace: ns });
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
    expect(vms.deleted).not.toContain(`${group}-5`);
    const after = await core.readNode({ name: node });
    expect(after.spec?.unschedulable ?? false).toBe(false);
  });
});
