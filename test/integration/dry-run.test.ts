import { WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TO_BE_DELETED_TAINT } from '../../src/activities/drain.js';
import { autoscalerWorkflowId, taskQueueFor } from '../../src/shared/ids.js';
import { scaleGroupUpdate, statusQuery } from '../../src/workflows/messages.js';
import type { ScaleUpResult } from '../../src/workflows/scale-up.js';
import { eventually, freshNamespace, isReady, kubeClients, kwokNode } from './helpers/kube.js';
import { startStackWorker } from './helpers/product.js';
import './helpers/temporal.js';
import { simulatedCluster } from './helpers/worker.js';

// `worker --dry-run` on the real stack: it plans, writes Events and the status ConfigMap and records what it would
// have started, but no VM is created, no Node is tainted, cordoned or drained, even by operations started by hand.

describe('dry-run', () => {
  const { core } = kubeClients();
  let env: Awaited<ReturnType<typeof simulatedCluster>>;
  let client: Client;
  let ns = '';
  let victim = '';

  beforeAll(async () => {
    ns = await freshNamespace(core, 'dry');
    env = await simulatedCluster({ prefix: 'dry', namespace: ns, worker: { dryRun: true, statusNamespace: ns } });
    client = env.client;
  });

  afterAll(async () => {
    await env?.stop();
    if (victim) await core.deleteNode({ name: victim }).catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('plans a scale-up, says so in status, Events and the ConfigMap, and creates no VM', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'needs-a-vm' },
        spec: {
          nodeSelector: { 'slicer/hostgroup': env.group },
          containers: [{ name: 'c', image: 'registry.invalid/c:1', resources: { requests: { cpu: '1' } } }],
        },
      },
    });
    const evaluator = client.workflow.getHandle(autoscalerWorkflowId(env.cluster));
    const status = await eventually(
      'a recorded would-have scale-up',
      async () => {
        const s = await evaluator.query(statusQuery);
        return s.wouldHave?.scaleUps.some((u) => u.group === env.group && u.count === 1) ? s : undefined;
      },
      60_000,
    );
    expect(status.dryRun).toBe(true);
    expect(status.operations).toEqual({});
    // cluster-autoscaler's layout: the group's scale-up is Needed (planned, never started in dry-run).
    const groupStatus = await eventually('the status ConfigMap with the needed scale-up', async () => {
      const cm = await core.readNamespacedConfigMap({ name: 'cluster-autoscaler-status', namespace: ns });
      const y = parse(cm.data?.['status'] ?? '') as { nodeGroups?: { name: string; scaleUp: { status: string } }[] };
      const g = y.nodeGroups?.find((x) => x.name === env.group);
      return g?.scaleUp.status === 'Needed' ? g : undefined;
    });
    expect(groupStatus.scaleUp.status).toBe('Needed');
    const events = await eventually('a TriggeredScaleUp event', async () => {
      const list = await core.listNamespacedEvent({ namespace: ns });
      const e = list.items.filter((x) => x.reason === 'TriggeredScaleUp' && x.involvedObject.name === 'needs-a-vm');
      return e.length ? e : undefined;
    });
    expect(events[0]!.source?.component).toBe('slicer-autoscaler');
    // Several evaluations later, still nothing made.
    const later = await eventually('three more evaluations', async () => {
      const s = await evaluator.query(statusQuery);
      return s.lastEvaluationAt! > status.lastEvaluationAt! + 2500 ? s : undefined;
    });
    expect(later.operations).toEqual({});
    expect(env.sim.vms()).toEqual([]);
  });

  it('refuses operator commands that would act', async () => {
    const evaluator = client.workflow.getHandle(autoscalerWorkflowId(env.cluster));
    await expect(
      evaluator.executeUpdate(scaleGroupUpdate, { args: [{ group: env.group, size: 1 }] }),
    ).rejects.toMatchObject({ cause: { message: 'scaleGroup refused: this evaluator runs in dry-run mode' } });
  });

  it('refuses, in the worker, operations started by hand: no VM created, no Node tainted or cordoned', async () => {
    const up = await client.workflow.execute('scaleUpWorkflow', {
      taskQueue: taskQueueFor(env.cluster),
      workflowId: `scale-up/${env.group}/by-hand`,
      args: [{ group: env.group, count: 1, reason: 'by hand', provisionTimeoutMs: 30_000 }],
    });
    expect((up as ScaleUpResult).slots).toEqual([
      expect.objectContaining({ outcome: 'failed', reason: 'DryRunRefused', vmDeleted: false }),
    ]);
    expect(env.sim.vms()).toEqual([]);

    victim = `${env.group}-9-dry`;
    await core.createNode({
      body: kwokNode(victim, {
        cpu: '2',
        memory: '4Gi',
        labels: { 'slicer/hostgroup': env.group, 'slicer/hostname': `${env.group}-9` },
      }),
    });
    await eventually('the node Ready', async () => isReady(await core.readNode({ name: victim })));
    const down = client.workflow.execute('scaleDownWorkflow', {
      taskQueue: taskQueueFor(env.cluster),
      workflowId: `scale-down/${victim}`,
      args: [{ node: victim, group: env.group, hostname: `${env.group}-9`, drainTimeoutMs: 10_000, reason: 'by hand' }],
    });
    await expect(down).rejects.toBeInstanceOf(WorkflowFailedError);
    await expect(down).rejects.toMatchObject({ cause: { cause: { type: 'DryRunRefused' } } });
    const node = await core.readNode({ name: victim });
    expect(node.spec?.unschedulable ?? false).toBe(false);
    expect(node.spec?.taints?.map((t) => t.key) ?? []).not.toContain(TO_BE_DELETED_TAINT);
  });

  it('will not start a real worker beside a dry-run evaluator', async () => {
    await expect(startStackWorker(env.configPath, [])).rejects.toThrow(
      /evaluator autoscaler\/dry-[0-9a-f]+ runs in dry-run, but this worker was started without --dry-run/,
    );
  });
});
