import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { createPlanScaling } from '../../src/activities/plan-scaling.js';
import { createSlicerVmProvider } from '../../src/activities/slicer-provider.js';
import { parseFlags } from '../../src/config/flags.js';
import { loadConfig } from '../../src/config/load.js';
import { ClusterCache } from '../../src/kube/cluster-cache.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { eventually, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';
import { temporalHarness, type TestWorker } from './helpers/temporal.js';

// Issue 9, watcher leak: at continue-as-new the old `watchCluster` learned of its cancellation only at a throttled
// heartbeat (~24 s) and kept signalling the new run; after growing to 1,000 nodes at least 12 watchers were alive at
// once. Here the evaluator runs with the product's activities (real planner over a real cache and a simulated Slicer)
// and a history limit low enough to continue as new every few seconds. Every watch is counted from inside the
// activity, each run's history and pending activities are read from Temporal, and the test checks: one watch per
// run, never two alive for one run, each superseded watch ended by the server telling it (at a heartbeat), and one
// alive at the end, for the current run. How long each handover took is printed, not asserted (no wall-clock
// limits in tests).

const {
  EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: ACTIVITY_SCHEDULED,
  EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: ACTIVITY_CANCEL_REQUESTED,
  EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: SIGNALED,
  EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: CONTINUED_AS_NEW,
} = temporal.api.enums.v1.EventType;

/** One `watchCluster` execution as the activity saw it. */
interface WatchRecord {
  runId: string;
  activityId: string;
  attempt: number;
  startedAt: number;
  endedAt?: number;
  /** 'returned', or the CancelledFailure's reason ('CANCELLED', 'NOT_FOUND', ...), or 'failed: ...'. */
  end?: string;
}

/** One evaluator run, read from its history. */
interface Run {
  runId: string;
  history: temporal.api.history.v1.IHistory;
  nextRunId?: string;
}

const ms = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

describe('one cluster watch per evaluator run, across continue-as-new', () => {
  const { kc, core } = kubeClients();
  const cache = new ClusterCache(kc);
  let p: Product;
  let harness: Awaited<ReturnType<typeof temporalHarness>>;
  let worker: TestWorker;
  const watches: WatchRecord[] = [];
  const liveByRun = new Map<string, number>();
  let live = 0;
  let maxLive = 0;
  let maxLiveForOneRun = 0;

  beforeAll(async () => {
    harness = await temporalHarness();
    p = await startProduct({ groups: [{ suffix: 'x86', cpus: 4, ramGib: 8 }], startWorker: false });
    await cache.start();
    // The worker's own wiring (src/worker.ts), on the test's task queue; the orphan sweep is left out (its interval
    // below is an hour, so it never runs).
    const { options } = parseFlags([]);
    const config = loadConfig(p.configPath, options);
    const vms = createSlicerVmProvider(config);
    const planner = createPlanScaling({
      config,
      flags: options,
      cache,
      listHostGroups: (group, signal) => vms.client(group).listHostGroups({ signal }),
    });
    const product = createActivities({
      vms,
      core,
      cluster: config.clusterName,
      cache,
      plan: planner.planScaling,
      lastFullPlan: planner.lastFullPlan,
      managedGroups: new Set(config.groups.map((g) => g.name)),
      reconcile: async () => [],
    });
    worker = await harness.worker({
      ...product,
      // The product's watch, counted from the inside: when it starts, for which run, when and how it ends.
      async watchCluster(args: { evaluatorId: string; runId?: string }): Promise<void> {
        const info = Context.current().info;
        const record: WatchRecord = {
          runId: args.runId ?? '?',
          activityId: info.activityId,
          attempt: info.attempt,
          startedAt: Date.now(),
        };
        watches.push(record);
        live += 1;
        liveByRun.set(record.runId, (liveByRun.get(record.runId) ?? 0) + 1);
        maxLive = Math.max(maxLive, live);
        maxLiveForOneRun = Math.max(maxLiveForOneRun, liveByRun.get(record.runId)!);
        try {
          await product.watchCluster(args);
          record.end = 'returned';
        } catch (err) {
          record.end = err instanceof CancelledFailure ? err.message : `failed: ${String(err)}`;
          throw err;
        } finally {
          record.endedAt = Date.now();
          live -= 1;
          liveByRun.set(record.runId, liveByRun.get(record.runId)! - 1);
        }
      },
    });
  });
  afterAll(async () => {
    await cache.stop();
    await p?.stop();
    await harness?.close();
  });

  /** Every run of the evaluator from `firstRunId` on, following continue-as-new. */
  async function runsFrom(workflowId: string, firstRunId: string): Promise<Run[]> {
    const runs: Run[] = [];
    let runId: string | undefined = firstRunId;
    while (runId) {
      const history: temporal.api.history.v1.IHistory = await harness.client.workflow
        .getHandle(workflowId, runId)
        .fetchHistory();
      const last = history.events?.at(-1);
      const nextRunId: string | undefined =
        last?.eventType === CONTINUED_AS_NEW
          ? (last.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined)
          : undefined;
      runs.push({ runId, history, ...(nextRunId && { nextRunId }) });
      runId = nextRunId;
    }
    return runs;
  }

  const watchesScheduled = (run: Run) =>
    (run.history.events ?? []).filter(
      (e) =>
        e.eventType === ACTIVITY_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'watchCluster',
    );

  /**
   * Runs the evaluator until it has continued as new `times` more times, calling `during` meanwhile, and checks the
   * current run's pending activities on the way: never more than one watch.
   */
  async function continueAsNewTimes(workflowId: string, times: number, during: () => Promise<void>): Promise<void> {
    const seen = new Set<string>();
    let stop = false;
    const churn = (async () => {
      while (!stop) await during();
    })();
    try {
      await eventually(
        `${times} more continue-as-new`,
        async () => {
          const d = await harness.client.workflow.getHandle(workflowId).describe();
          seen.add(d.runId);
          const pendingWatches = (d.raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'watchCluster');
          expect(pendingWatches.length, `pending watches of run ${d.runId}`).toBeLessThanOrEqual(1);
          return seen.size > times;
        },
        90_000,
      );
    } finally {
      stop = true;
      await churn;
    }
  }

  it('keeps exactly one watch per run while pods keep changing, and each old watch is told to stop', async () => {
    await worker.runUntil(async () => {
      const workflowId = autoscalerWorkflowId(p.cluster);
      const handle = await harness.client.workflow.start('autoscalerWorkflow', {
        taskQueue: harness.taskQueue,
        workflowId,
        // ~10 events per evaluation: a continue-as-new every few evaluations.
        args: [{ cluster: p.cluster, scanIntervalMs: 500, maxHistoryEvents: 80, reconcileIntervalMs: 3_600_000 }],
      });
      const firstRunId = handle.firstExecutionRunId;

      // Phase 1: a pod that no template fits every 200 ms, so every watch has changes to signal (and no VM is made).
      let n = 0;
      await continueAsNewTimes(workflowId, 4, async () => {
        await core.createNamespacedPod({ namespace: p.ns, body: p.pod(`huge-${n++}`, { cpu: '64' }) });
        await new Promise((r) => setTimeout(r, 200));
      });
      const busyRuns = (await runsFrom(workflowId, firstRunId)).length;
      await core.deleteCollectionNamespacedPod({ namespace: p.ns, gracePeriodSeconds: 0 });

      // Phase 2: nothing changes, so the watches are idle: only a cancellation can end them.
      await new Promise((r) => setTimeout(r, 2000));
      const quietFrom = Date.now();
      await continueAsNewTimes(workflowId, 3, () => new Promise((r) => setTimeout(r, 200)));

      // The current run's watch is up (its first heartbeat may lag the run's start by a moment).
      const current = (await handle.describe()).runId;
      await eventually('the current run to have its watch', async () =>
        watches.some((w) => w.runId === current && w.endedAt === undefined),
      );
      const runs = await runsFrom(workflowId, firstRunId);
      const superseded = runs.filter((r) => r.nextRunId);
      // Old watches learn at their next heartbeat answer; give them that before counting.
      await eventually('every superseded run’s watch to end', async () =>
        superseded.every((r) => watches.some((w) => w.runId === r.runId && w.endedAt !== undefined)),
      );
      const aliveAtEnd = watches.filter((w) => w.endedAt === undefined).map((w) => w.runId);
      await handle.terminate('test over');

      const report = superseded.map((run) => {
        const w = watches.find((x) => x.runId === run.runId)!;
        const cancel = (run.history.events ?? []).find((e) => e.eventType === ACTIVITY_CANCEL_REQUESTED);
        const next = watches.find((x) => x.runId === run.nextRunId);
        return {
          run: run.runId.slice(0, 8),
          signals: (run.history.events ?? []).filter((e) => e.eventType === SIGNALED).length,
          end: w.end,
          cancelToEndMs: cancel ? w.endedAt! - ms(cancel.eventTime) : undefined,
          overlapWithNextMs: next ? w.endedAt! - next.startedAt : undefined,
          quiet: ms(run.history.events?.[0]?.eventTime) >= quietFrom,
        };
      });
      console.log(`[watcher] ${runs.length} runs (${busyRuns} busy); max live watches ${maxLive}`);
      console.table(report);

      expect(runs.length).toBeGreaterThanOrEqual(8);
      for (const run of runs) {
        // One watch per run, in Temporal's history and as the activity saw it (no retries either).
        expect(watchesScheduled(run), `watch activities scheduled by run ${run.runId}`).toHaveLength(1);
        expect(
          watches.filter((w) => w.runId === run.runId),
          `watch executions for run ${run.runId}`,
        ).toHaveLength(1);
      }
      expect(maxLiveForOneRun).toBe(1);
      // A handover is the only time two are alive: the new run's watch starts while the old one hears it must stop.
      expect(maxLive).toBeLessThanOrEqual(2);
      for (const run of superseded) {
        // The run cancelled its watch before continuing as new, and the watch ended: told so by the server at a
        // heartbeat (cancelled, or its run already closed), or on finding its run over when it signalled.
        const events = run.history.events ?? [];
        expect(
          events.some((e) => e.eventType === ACTIVITY_CANCEL_REQUESTED),
          `run ${run.runId} cancels its watch`,
        ).toBe(true);
        const w = watches.find((x) => x.runId === run.runId)!;
        expect(['CANCELLED', 'NOT_FOUND', 'returned'], `how the watch of ${run.runId} ended`).toContain(w.end);
      }
      // While quiet, a watch signals once, when it starts (it may have missed changes while no watch ran), and has
      // nothing more to say: only the server's answer to a heartbeat could end them.
      const quiet = report.filter((r) => r.quiet);
      expect(quiet.length).toBeGreaterThanOrEqual(2);
      for (const r of quiet) {
        expect(r.signals).toBeLessThanOrEqual(1);
        expect(['CANCELLED', 'NOT_FOUND']).toContain(r.end);
      }
      // At the end exactly one watch was alive, and it was the current run's.
      expect(aliveAtEnd).toEqual([current]);
    });
  }, 240_000);
});
