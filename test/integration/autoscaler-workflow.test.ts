import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { PlanRequest, PlanResult } from '../../src/shared/plan-contract.js';
import type { VmProvider } from '../../src/activities/vm-provider.js';
import { ClusterCache } from '../../src/kube/cluster-cache.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { pauseUpdate, resumeUpdate, scaleGroupUpdate, statusQuery } from '../../src/workflows/messages.js';
import { eventually, kubeClients, kwokNode } from './helpers/kube.js';
import { temporalHarness } from './helpers/temporal.js';

// The evaluator on the real Temporal server and the real apiserver, with a scripted planner so the test decides
// what the plan is and checks what the evaluator does with it: start operations, learn their outcome, obey pauses
// and limits, and carry its state through continue-as-new.

describe('autoscalerWorkflow', () => {
  const { kc, core } = kubeClients();
  const cache = new ClusterCache(kc);
  const group = `ev${randomBytes(2).toString('hex')}`;
  let harness: Awaited<ReturnType<typeof temporalHarness>>;
  const requests: PlanRequest[] = [];
  let wantUp = 0;
  let created = 0;
  let hangCreates = false;

  const vms: VmProvider = {
    findVmsByTag: async () => [],
    listVms: async () => [],
    createVm: async (g, opts) => {
      // Hangs like a stuck Slicer call, but gives way when the worker shuts down.
      if (hangCreates) await Context.current().cancelled;
      created += 1;
      const hostname = `${g}-${created}`;
      await core.createNode({
        body: kwokNode(`${hostname}-${randomBytes(4).toString('hex')}`, {
          cpu: '2',
          memory: '4Gi',
          labels: { 'slicer/hostgroup': g, 'slicer/hostname': hostname, ...opts.labels },
        }),
      });
      return { hostname };
    },
    deleteVm: async () => ({ existed: true }),
    consoleTail: async () => '',
  };

  async function plan(req: PlanRequest): Promise<PlanResult> {
    requests.push(req);
    const nodes = (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items;
    const size = nodes.length;
    const inFlight = req.inFlight[group] ?? 0;
    const count = Math.max(0, wantUp - size - inFlight);
    return {
      at: Date.now(),
      scaleUps:
        count > 0 && !req.backoffUntil[group]
          ? [{ group, count, reason: `want ${wantUp}`, provisionTimeoutMs: 30_000 }]
          : [],
      scaleDowns: [],
      timers: { set: {}, cleared: [] },
      totalNodes: size,
      maxNodesTotal: 0,
      nodeReasons: { Test: size },
      groups: {
        [group]: { size, ready: size, inFlight: 0, min: 0, max: 3, provisionTimeoutMs: 30_000, drainTimeoutMs: 30_000 },
      },
      nodes: Object.fromEntries(
        nodes.map((n) => [
          n.metadata!.name!,
          {
            group,
            hostname: n.metadata!.labels!['slicer/hostname']!,
            verdict: { kind: 'kept', reason: 'Test', message: '' },
          },
        ]),
      ),
      pods: {},
      pendingPods: 0,
      podReasons: {},
    };
  }

  beforeAll(async () => {
    harness = await temporalHarness();
    await cache.start();
  });
  afterAll(async () => {
    await cache.stop();
    await harness.close();
    for (const n of (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items)
      await core.deleteNode({ name: n.metadata!.name! });
  });

  it('starts scale-ups for its plan, learns their outcome, refuses limit breaches, and survives continue-as-new', async () => {
    const sweeps: { busyOperations: string[]; busyNodes: string[] }[] = [];
    const reconcile = async (args: { busyOperations: string[]; busyNodes: string[] }) => {
      sweeps.push(args);
      return [
        {
          kind: 'untagged-vm-without-node' as const,
          group,
          hostname: `${group}-99`,
          action: 'reported' as const,
          reason: 'not ours',
        },
      ];
    };
    const worker = await harness.worker(createActivities({ vms, core, cluster: 'test', cache, plan, reconcile }));
    const workflowId = `${autoscalerWorkflowId('test')}-${group}`;
    await worker.runUntil(async () => {
      const handle = await harness.client.workflow.start('autoscalerWorkflow', {
        taskQueue: harness.taskQueue,
        workflowId,
        args: [{ cluster: 'test', scanIntervalMs: 500, maxHistoryEvents: 150, reconcileIntervalMs: 1000 }],
      });
      await eventually(
        'first evaluation',
        async () => (await handle.query(statusQuery)).lastEvaluationAt !== undefined,
      );

      wantUp = 2;
      const started = await handle.executeUpdate(scaleGroupUpdate, { args: [{ group, size: 2, reason: 'test' }] });
      expect(started.started).toHaveLength(1);
      const done = await eventually('scale-up reported back', async () => {
        const s = await handle.query(statusQuery);
        return s.recent.find((r) => r.kind === 'scale-up') ?? false;
      });
      expect(done).toMatchObject({ succeeded: true, group, message: '2 VM(s) joined' });
      expect(created).toBe(2);
      // The orphan sweep runs on its interval and what it found shows in status.
      const orphans = await eventually('an orphan sweep recorded', async () => {
        const s = await handle.query(statusQuery);
        return s.orphans.length > 0 ? s.orphans : undefined;
      });
      expect(orphans[0]).toMatchObject({ hostname: `${group}-99`, action: 'reported' });
      expect(sweeps.length).toBeGreaterThan(0);

      const refusal = await handle
        .executeUpdate(scaleGroupUpdate, { args: [{ group, size: 4 }] })
        .catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((refusal as WorkflowUpdateFailedError).cause?.message)).toMatch(/max-size is 3/);
      const badPause = await handle.executeUpdate(pauseUpdate, { args: [{ reason: '' }] }).catch((e: unknown) => e);
      expect(String((badPause as WorkflowUpdateFailedError).cause?.message)).toMatch(/reason: say why/);

      const paused = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'maintenance window' }] });
      expect(paused.paused).toMatchObject({ reason: 'maintenance window' });
      wantUp = 3;
      const before = created;
      const evaluationsBefore = requests.length;
      await eventually('two more evaluations while paused', async () => requests.length >= evaluationsBefore + 2);
      expect(created).toBe(before);

      // History limit is low: the evaluator has continued as new by now, and the pause came with it.
      await eventually('continued as new', async () => {
        const desc = await harness.client.workflow.getHandle(workflowId).describe();
        return desc.runId !== handle.firstExecutionRunId;
      });
      const latest = harness.client.workflow.getHandle(workflowId);
      expect((await latest.query(statusQuery)).paused).toMatchObject({ reason: 'maintenance window' });
      await latest.executeUpdate(resumeUpdate, { args: [{}] });
      await eventually('third VM after resume', async () => created === 3);
      await latest.terminate('test over');
    });
  });

  it('hears about an operation that fails outright, and drops one terminated without a word', async () => {
    const reconcile = async () => [];
    const worker = await harness.worker(createActivities({ vms, core, cluster: 'test', cache, plan, reconcile }));
    const evaluatorId = `${autoscalerWorkflowId('test')}-${group}-ops`;
    await worker.runUntil(async () => {
      wantUp = 0;
      const evaluator = await harness.client.workflow.start('autoscalerWorkflow', {
        taskQueue: harness.taskQueue,
        workflowId: evaluatorId,
        // Its own cluster name: the first test's operations may still run, and a new evaluator adopts those.
        args: [{ cluster: `test-ops-${group}`, scanIntervalMs: 500, reconcileIntervalMs: 1000 }],
      });
      await eventually(
        'first evaluation',
        async () => (await evaluator.query(statusQuery)).lastEvaluationAt !== undefined,
      );
      // A scale-down whose node is not what the input says fails with NodeIdentityMismatch (final): it still reports.
      const [someNode] = (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items;
      const failing = await harness.client.workflow.start('scaleDownWorkflow', {
        taskQueue: harness.taskQueue,
        workflowId: `scale-down/${someNode!.metadata!.name!}-mismatch`,
        args: [
          { node: someNode!.metadata!.name!, group, hostname: 'not-its-vm', drainTimeoutMs: 5000, notify: evaluatorId },
        ],
      });
      await expect(failing.result()).rejects.toThrow();
      const heard = await eventually('failure reported to the evaluator', async () =>
        (await evaluator.query(statusQuery)).recent.find((r) => r.workflowId === failing.workflowId),
      );
      expect(heard).toMatchObject({
        kind: 'scale-down',
        succeeded: false,
        message: expect.stringMatching(/NodeIdentityMismatch/),
      });

      // A scale-up stuck creating a VM is terminated by hand: it cannot report, so the sweep drops it from the books.
      hangCreates = true;
      // Make room below max-size 3: remove one of the first test's nodes and wait for an evaluation to see it.
      await core.deleteNode({ name: someNode!.metadata!.name! });
      const size = await eventually('an evaluation with room', async () => {
        const g = (await evaluator.query(statusQuery)).groups[group];
        return g && g.size < g.max ? g.size : undefined;
      });
      const started = await evaluator.executeUpdate(scaleGroupUpdate, { args: [{ group, size: size + 1 }] });
      const ops = (await evaluator.query(statusQuery)).operations;
      expect(Object.keys(ops), JSON.stringify(ops)).toEqual(started.started);
      await harness.client.workflow.getHandle(started.started[0]!).terminate('operator gave up');
      const dropped = await eventually('terminated operation dropped', async () =>
        (await evaluator.query(statusQuery)).recent.find((r) => r.workflowId === started.started[0]),
      );
      expect(dropped).toMatchObject({ succeeded: false, message: 'workflow TERMINATED without reporting back' });
      expect((await evaluator.query(statusQuery)).operations).toEqual({});
      hangCreates = false;
      await evaluator.terminate('test over');
    });
  });
});
