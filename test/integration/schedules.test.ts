import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runScheduleCommand } from '../../src/cli/schedule.js';
import { UsageError } from '../../src/cli/operator.js';
import { loadToolPaths } from '../../src/stack/tools.js';
import { autoscalerWorkflowId, taskQueueFor } from '../../src/shared/ids.js';
import { resumeUpdate, statusQuery } from '../../src/workflows/messages.js';
import { eventually, kubeClients } from './helpers/kube.js';
import './helpers/temporal.js';
import { simulatedCluster } from './helpers/worker.js';

// Scheduled pauses and scale-to-zero windows through real Temporal Schedules: added, listed and removed with our
// CLI, seen by the `temporal` CLI, fired (by trigger, not by waiting for 20:00), applied by the evaluator within
// its limits, and a limit breach refused and recorded.

const execFileAsync = promisify(execFile);

describe('schedules', () => {
  const { core, apps } = kubeClients();
  let env: Awaited<ReturnType<typeof simulatedCluster>>;
  let client: Client;
  let ns = '';
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runScheduleCommand(
      [...argv, '--cluster', env.cluster, '--address', inject('temporalAddress')],
      (l) => out.push(l),
    );
    return { code, out: out.join('\n') };
  };
  const listed = async () => (await run('list')).out;

  beforeAll(async () => {
    env = await simulatedCluster({
      prefix: 'sched',
      group: ['max-size = 2'],
      global: ['scale-down-unneeded-time = 1h'],
    });
    ({ client, ns } = env);
    await eventually('a first evaluation', async () => {
      const s = await client.workflow.getHandle(autoscalerWorkflowId(env.cluster)).query(statusQuery);
      return s.groups[env.group] !== undefined;
    });
  });

  afterAll(async () => {
    for await (const s of client.schedule.list())
      if (s.scheduleId.startsWith(`slicer-autoscaler/${env.cluster}/`))
        await client.schedule
          .getHandle(s.scheduleId)
          .delete()
          .catch(() => undefined);
    await env?.stop();
  });

  it('adds a nightly pause that the evaluator applies when it fires, visible to the temporal CLI', async () => {
    const added = await run('add', '--cron', '0 20 * * 1-5', '--pause', '12h', '--id', 'nightly');
    expect(added).toEqual({
      code: 0,
      out: `added slicer-autoscaler/${env.cluster}/nightly: at "0 20 * * 1-5" (UTC): pause the autoscaler for 12h`,
    });
    const id = `slicer-autoscaler/${env.cluster}/nightly`;
    expect(
      await eventually('the schedule listed', async () => ((await listed()).includes(id) ? listed() : undefined)),
    ).toMatch(/pause the autoscaler for 12h {2}next \d{4}-\d\d-\d\dT20:00:00\.000Z/);
    const temporal = loadToolPaths().temporal;
    const described = JSON.parse(
      (
        await execFileAsync(temporal, [
          'schedule',
          'describe',
          '-s',
          id,
          '--address',
          inject('temporalAddress'),
          '-o',
          'json',
        ])
      ).stdout,
    ) as {
      schedule: {
        action: { startWorkflow: { workflowId: string; workflowType: { name: string }; taskQueue: { name: string } } };
      };
    };
    expect(described.schedule.action.startWorkflow.workflowType.name).toBe('scheduledActionWorkflow');
    // The whole cluster name, then the schedule's own: runs of two clusters' schedules never share an ID.
    expect(described.schedule.action.startWorkflow.workflowId).toBe(`scheduled/${env.cluster}/nightly`);
    expect(described.schedule.action.startWorkflow.taskQueue.name).toBe(taskQueueFor(env.cluster));

    const before = Date.now();
    await client.schedule.getHandle(id).trigger();
    const evaluator = client.workflow.getHandle(autoscalerWorkflowId(env.cluster));
    const paused = await eventually(
      'the pause applied',
      async () => (await evaluator.query(statusQuery)).paused ?? undefined,
      30_000,
    );
    expect(paused.reason).toBe('scheduled: at "0 20 * * 1-5" (UTC): pause the autoscaler for 12h');
    expect(paused.until! - before).toBeGreaterThan(12 * 3600_000 - 60_000);
    expect(paused.until! - before).toBeLessThanOrEqual(12 * 3600_000 + 60_000);
    await evaluator.executeUpdate(resumeUpdate, { args: [{}] });
  });

  it('pins a group at zero for the window: its VM goes, and limits were checked at the edge', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              nodeSelector: { 'slicer/hostgroup': env.group },
              containers: [{ name: 'web', image: 'registry.invalid/web:1', resources: { requests: { cpu: '1' } } }],
            },
          },
        },
      },
    });
    await eventually(
      'one VM',
      async () =>
        env.sim.vms().length === 1 &&
        (await core.listNode({ labelSelector: `slicer/hostgroup=${env.group}` })).items.length === 1,
      60_000,
    );
    // Above max-size: refused before any schedule exists.
    await expect(run('add', '--cron', '0 8 * * *', '--scale', `${env.group}=3`, '--for', '1h')).rejects.toThrow(
      new UsageError(`--scale ${env.group} to 3 refused: max-size is 2; the evaluator would refuse it`),
    );
    expect(await listed()).not.toContain('scale-');
    const added = await run('add', '--cron', '0 20 * * *', '--scale', `${env.group}=0`, '--for', '1h');
    expect(added.code).toBe(0);
    const id = /added (\S+):/.exec(added.out)![1]!;
    await client.schedule.getHandle(id).trigger();
    const evaluator = client.workflow.getHandle(autoscalerWorkflowId(env.cluster));
    await eventually(
      'the override in status',
      async () => (await evaluator.query(statusQuery)).overrides[env.group]?.size === 0,
    );
    await eventually(
      'the VM removed and the Node gone',
      async () =>
        env.sim.vms().length === 0 &&
        (await core.listNode({ labelSelector: `slicer/hostgroup=${env.group}` })).items.length === 0,
      60_000,
    );
    // The pod is pending, and stays so while the group is pinned (the planner sees the group as paused).
    const s = await eventually('a plan that keeps the pod waiting', async () => {
      const st = await evaluator.query(statusQuery);
      const quiet = Object.keys(st.operations).length === 0 && st.groups[env.group]?.size === 0;
      return st.pendingPods === 1 && quiet ? st : undefined;
    });
    expect(s.overrides[env.group]).toMatchObject({ size: 0 });
    // resume --group ends the window early; the pod gets its VM again.
    await evaluator.executeUpdate(resumeUpdate, { args: [{ group: env.group }] });
    await eventually('a VM again', async () => env.sim.vms().length === 1, 60_000);
    expect(await run('remove', id)).toEqual({ code: 0, out: `removed ${id}` });
    await eventually('the schedule gone from the list', async () => !(await listed()).includes(id));
    expect(await run('remove', id)).toEqual({ code: 1, out: `no schedule ${id}` });
  });

  it('records a refusal when a window breaks the limits at the time it fires', async () => {
    // As if added when the evaluator could not be asked, or before max-size was lowered.
    const id = `slicer-autoscaler/${env.cluster}/too-big`;
    await client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: ['0 20 * * *'] },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledActionWorkflow',
        taskQueue: taskQueueFor(env.cluster),
        workflowId: `scheduled/${env.cluster}/too-big`,
        args: [
          { kind: 'scale', cluster: env.cluster, group: env.group, size: 5, forSeconds: 60, reason: 'r', source: id },
        ],
      },
    });
    await client.schedule.getHandle(id).trigger();
    const runId = await eventually(
      'the scheduled run',
      async () => (await client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId,
    );
    const failure = await client.workflow
      .getHandle(runId)
      .result()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toMatchObject({
      type: 'ScheduledActionRefused',
      message: `overrideSize ${env.group} to 5 refused: max-size is 2`,
    });
    const status = await client.workflow.getHandle(autoscalerWorkflowId(env.cluster)).query(statusQuery);
    expect(status.refusals[0]).toMatchObject({
      command: 'overrideSize',
      input: expect.stringContaining(id),
      reason: `overrideSize ${env.group} to 5 refused: max-size is 2`,
    });
    expect(status.overrides[env.group]).toBeUndefined();
  });
});
