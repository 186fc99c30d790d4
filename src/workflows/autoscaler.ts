import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import { TemporalFailure } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import type { Activities } from '../activities/index.js';
import type { PlannedScaleDown, PlannedScaleUp, PlanResult } from '../shared/plan-contract.js';
import { opIdFrom, scaleDownWorkflowId } from '../shared/ids.js';
import { COMMANDS, Refused, execute, precheck, type CommandContext, type CommandName } from './commands.js';
import { EvaluatorState, type StateData } from './evaluator-state.js';
import {
  ClusterChangedSchema,
  OperationFinishedSchema,
  clusterChangedSignal,
  describeIssue,
  drainNodeSignal,
  drainNodeUpdate,
  explainQuery,
  holdSignal,
  holdUpdate,
  operationFinishedSignal,
  overrideSizeSignal,
  overrideSizeUpdate,
  pauseSignal,
  pauseUpdate,
  planQuery,
  resumeSignal,
  resumeUpdate,
  scaleGroupSignal,
  scaleGroupUpdate,
  statusQuery,
} from './messages.js';
import { OperationStarter } from './operations.js';
import { AutoscalerClusterKey } from './search-attributes.js';
import { overrideSteps } from './steering.js';

export interface AutoscalerInput {
  cluster: string;
  /** Carried over by continue-as-new. */
  state?: StateData;
  /** Re-plan at least this often even without signals, so unneeded timers and cooldowns advance. */
  scanIntervalMs?: number;
  /** Continue-as-new after this many history events (tests lower it). */
  maxHistoryEvents?: number;
  /** Sweep for orphaned VMs and Nodes this often. */
  reconcileIntervalMs?: number;
  /** Backoff of a group after a failed scale-up: initial, doubling to max (cluster-autoscaler's flags). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Plan, and record in `status.wouldHave` what would have started, but never start an operation. */
  dryRun?: boolean;
}

const planning = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  // A few quick tries, then the evaluation is skipped and retried at the next wake-up: the evaluator must stay
  // responsive to operators while, say, the worker's cache is not synced.
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 3 },
});
// The watch runs until cancelled; a short heartbeat timeout moves it to another worker within seconds if this one
// dies, and lets cancellation reach it quickly at continue-as-new.
const watching = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

const DEFAULT_SCAN_INTERVAL_MS = 30_000;
const DEFAULT_RECONCILE_INTERVAL_MS = 5 * 60_000;
const DEFAULT_MAX_HISTORY_EVENTS = 10_000;
/** After a failed plan, the next try comes this soon (each try itself retries 3 times within seconds). */
const PLAN_RETRY_MS = 5000;

/**
 * The evaluator: one per cluster, ID `autoscaler/<cluster>`. It re-plans when the watch activity signals a change,
 * when an operation finishes or an operator steers it, and at least every scan interval; it starts scale-up and
 * scale-down workflows for the plan, and keeps timers, backoff, pauses and holds in its durable state.
 */
export async function autoscalerWorkflow(input: AutoscalerInput): Promise<void> {
  const fresh = input.state === undefined;
  const state = new EvaluatorState(input.state, opIdFrom(uuid4()), {
    initialMs: input.backoffInitialMs,
    maxMs: input.backoffMaxMs,
  });
  const mutex = new Mutex();
  const { workflowId: evaluatorId, runId } = workflowInfo();
  const ops = new OperationStarter(state, input.cluster, evaluatorId);
  let dirty = true;
  let planError: string | undefined;
  upsertSearchAttributes([{ key: AutoscalerClusterKey, value: input.cluster }]);

  const ctx: CommandContext = {
    state,
    ops,
    lookupNode: (node) => planning.lookupNode({ node }),
    removalCandidates: (group) => planning.removalCandidates({ group, busy: state.busy().busyNodes }),
    touch: () => (dirty = true),
    dryRun: input.dryRun ?? false,
  };

  setHandler(
    clusterChangedSignal,
    (raw) => {
      const parsed = ClusterChangedSchema.safeParse(raw);
      if (!parsed.success) {
        log.warn('dropping malformed clusterChanged signal', { error: describeIssue(parsed.error) });
        return;
      }
      dirty = true;
    },
    { description: 'The watch saw a change that may alter the plan.' },
  );

  setHandler(
    operationFinishedSignal,
    (raw) => {
      const parsed = OperationFinishedSchema.safeParse(raw);
      if (!parsed.success) {
        log.warn('dropping malformed operationFinished signal', { error: describeIssue(parsed.error) });
        return;
      }
      state.finished(parsed.data.workflowId, parsed.data, Date.now());
      dirty = true;
    },
    { description: 'A scale-up or scale-down workflow finished.' },
  );

  // Each operator command as an update (validated before it reaches history, answers) and as a signal of the same
  // name and input (recorded as refused in `status` when it may not run). Both run the same checks and code.
  const descriptions: Record<CommandName, string> = {
    pause: 'Stop starting scale-ups and scale-downs, for the cluster or one group; running ones finish.',
    resume: 'Undo a pause.',
    hold: 'Keep a node from being removed (release: true lifts the hold).',
    scaleGroup: 'Set a group to a size within [min-size, max-size] and --max-nodes-total.',
    drainNode: 'Drain and remove one managed node (PodDisruptionBudgets and protected pods still hold).',
    overrideSize:
      "Pin a group at a size within [min-size, max-size] for forSeconds (a schedule's window; resume --group ends it).",
  };
  const updates = {
    pause: pauseUpdate,
    resume: resumeUpdate,
    hold: holdUpdate,
    scaleGroup: scaleGroupUpdate,
    drainNode: drainNodeUpdate,
    overrideSize: overrideSizeUpdate,
  } as unknown as Record<CommandName, UpdateDefinition<unknown, [unknown]>>;
  const signals = {
    pause: pauseSignal,
    resume: resumeSignal,
    hold: holdSignal,
    scaleGroup: scaleGroupSignal,
    drainNode: drainNodeSignal,
    overrideSize: overrideSizeSignal,
  } as unknown as Record<CommandName, SignalDefinition<[unknown]>>;
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    setHandler(
      updates[name]!,
      async (raw: unknown) =>
        mutex.runExclusive(async () => {
          try {
            return await execute(ctx, name, raw);
          } catch (err) {
            if (!(err instanceof Refused)) throw err;
            if (err.record) state.refused(name, raw, err.message, Date.now());
            throw ApplicationFailure.nonRetryable(err.message, 'Refused');
          }
        }),
      {
        validator: (raw: unknown) => {
          const checked = precheck(ctx, name, raw);
          if (!checked.ok) throw new Error(checked.reason);
        },
        description: descriptions[name],
      },
    );
    setHandler(
      signals[name]!,
      async (raw: unknown) =>
        mutex.runExclusive(async () => {
          try {
            await execute(ctx, name, raw);
          } catch (err) {
            const reason = err instanceof Refused ? err.message : `${name} failed: ${String(err)}`;
            state.refused(name, raw, reason, Date.now());
            log.warn('operator signal refused', { command: name, reason });
          }
        }),
      { description: `${descriptions[name]} (signal form; a refusal shows in status.refusals)` },
    );
  }

  setHandler(
    statusQuery,
    () => ({ ...state.status(), dryRun: input.dryRun ?? false, ...(planError && { planError }) }),
    {
      description: 'Pauses, holds, backoff, operations, refusals and group sizes.',
    },
  );
  setHandler(planQuery, () => state.lastPlan, {
    description: 'The last plan with capped verdicts for pending pods and managed nodes, and counts of all.',
  });
  setHandler(explainQuery, (subject) => state.explain(subject), {
    description: 'Why a pod is pending or a node is kept: { pod: "ns/name" } or { node }.',
  });

  /**
   * Runs a step whose failure must never fail the evaluator: an activity out of retries or a refused start ends
   * the step, is logged and shown in the UI, and the loop tries again at its next wake-up. A bug in workflow code
   * (not a Temporal failure) still fails the workflow task, so it is retried once the code is fixed.
   */
  async function survive(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      if (!(err instanceof TemporalFailure)) throw err;
      const message = `${what} failed: ${err.cause?.message ?? err.message}`.slice(0, 500);
      log.warn(message);
      setCurrentDetails(`**${input.cluster}**: ${message}`);
    }
  }

  async function plan(): Promise<PlanResult> {
    const result = await planning.planScaling(state.planRequest(Date.now(), evaluatorId));
    if (!result.needTimers) return result;
    // The worker has no copy of our timers (a failover or restart): send them once in full.
    return planning.planScaling(state.planRequest(Date.now(), evaluatorId, true));
  }

  /**
   * The operations that bring groups under a size override to their pinned size. Nodes to remove are picked idle
   * first, never held or busy ones; a limit breach drops the override and is recorded in `status.refusals`.
   */
  async function overrideOperations(result: PlanResult): Promise<{ ups: PlannedScaleUp[]; downs: PlannedScaleDown[] }> {
    const ups: PlannedScaleUp[] = [];
    const downs: PlannedScaleDown[] = [];
    for (const step of overrideSteps(state.data, result, Date.now(), (g) => state.groupSize(g))) {
      if (step.kind === 'up') ups.push(step.up);
      else if (step.kind === 'refused') {
        state.refused('overrideSize', { group: step.group, source: 'size override' }, step.message, Date.now());
        delete state.data.overrides?.[step.group];
      } else {
        const skip = new Set(step.skip);
        const candidates = (await ctx.removalCandidates(step.group)).filter(
          (c) => !(c.node in state.data.holds) && !state.isBusy(c.node) && !skip.has(scaleDownWorkflowId(c.node)),
        );
        for (const c of candidates.slice(0, step.count))
          downs.push({
            node: c.node,
            group: step.group,
            hostname: c.hostname,
            ...(c.vmId && { vmId: c.vmId }),
            reason: step.reason,
            drainTimeoutMs: step.drainTimeoutMs,
          });
      }
    }
    return { ups, downs };
  }

  async function evaluate(): Promise<void> {
    state.expire(Date.now());
    let result: PlanResult;
    try {
      result = await plan();
      planError = undefined;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      planError = `${err.cause?.message ?? err.message}`.slice(0, 500);
      log.warn('planning failed; retrying at the next wake-up', { error: planError });
      setCurrentDetails(`**${input.cluster}**: planning failed: ${planError}`);
      return;
    }
    state.recordPlan(result);
    if (state.data.paused) {
      setCurrentDetails(`**paused**: ${state.data.paused.reason}`);
      return;
    }
    const pinned = await overrideOperations(result);
    const ups = [...result.scaleUps, ...pinned.ups].filter((up) => !(up.group in state.data.pausedGroups));
    const downs = [...result.scaleDowns, ...pinned.downs].filter(
      (down) => !(down.group in state.data.pausedGroups || state.isBusy(down.node) || down.node in state.data.holds),
    );
    if (input.dryRun) state.data.wouldHave = { at: result.at, scaleUps: ups, scaleDowns: downs };
    else {
      for (const up of ups) await ops.scaleUp(up);
      for (const down of downs) await ops.scaleDown(down);
    }
    setCurrentDetails(
      [
        `**${input.cluster}**: ${result.pendingPods} pending pod(s), ${Object.values(result.nodeReasons).reduce((a, b) => a + b, 0)} managed node(s)`,
        result.blocked ? `scale-down blocked: ${result.blocked.message}` : '',
        input.dryRun ? `**dry-run**: would start ${ups.length} scale-up(s), ${downs.length} scale-down(s)` : '',
        ...Object.entries(result.groups).map(
          ([g, v]) =>
            `- ${g}: ${v.size} node(s) (${v.ready} Ready), ${v.inFlight ?? 0} on the way, min ${v.min}, max ${v.max}${v.unavailable ? ` (unavailable: ${v.unavailable})` : ''}`,
        ),
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }

  async function sweep(reconcileEvery: number): Promise<void> {
    // Operations normally report back; this catches one terminated by hand or lost in some other way.
    // Older than one sweep interval: a fresh operation may not be visible to describe() yet.
    const old = Object.entries(state.data.operations).filter(([, o]) => Date.now() - o.startedAt > reconcileEvery);
    if (old.length > 0) {
      for (const c of await planning.closedOperations({ workflowIds: old.map(([id]) => id) })) {
        const op = state.data.operations[c.workflowId];
        if (!op) continue;
        state.finished(
          c.workflowId,
          { kind: op.kind, group: op.group, succeeded: false, message: `workflow ${c.status} without reporting back` },
          Date.now(),
        );
      }
    }
    const findings = await planning.reconcile(state.busy());
    state.recordOrphans(findings, Date.now());
    if (findings.some((f) => f.action !== 'reported')) dirty = true;
  }

  // An evaluator that starts without state (first start, or after being terminated by hand) rebuilds its books from
  // Temporal: operations of this cluster still running would otherwise be invisible, and their VMs counted twice.
  if (fresh) {
    await survive('rebuilding the books from Temporal', () =>
      mutex.runExclusive(async () => {
        for (const op of await planning.runningOperations({ cluster: input.cluster }))
          if (!(op.workflowId in state.data.operations)) state.started(op.workflowId, op.record);
      }),
    );
  }

  // The watch feeds this run only: it signals this run ID, so a watch left over from an earlier run stops at its
  // first signal instead of feeding us twice. It is cancelled before continue-as-new.
  const watchScope = new CancellationScope();
  const watch = watchScope
    .run(() => watching.watchCluster({ evaluatorId, runId }))
    .catch((err: unknown) => {
      if (!isCancellation(err)) log.error('cluster watch ended', { error: String(err) });
    });

  const scanIntervalMs = input.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const canDue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;
  const reconcileEvery = input.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  state.data.nextReconcileAt ??= Date.now() + reconcileEvery;
  while (!canDue()) {
    const now = Date.now();
    // A failed plan (say, the worker's cache not synced yet) is tried again soon, not only at the next scan.
    const retryAt = planError ? now + PLAN_RETRY_MS : Infinity;
    const wakeAt = Math.min(
      now + scanIntervalMs,
      retryAt,
      state.nextExpiry(now) ?? Infinity,
      state.data.nextReconcileAt,
    );
    await condition(() => dirty || canDue(), Math.max(1, wakeAt - now));
    if (canDue()) break;
    dirty = false;
    await survive('evaluation', () => mutex.runExclusive(evaluate));
    if (Date.now() >= state.data.nextReconcileAt) {
      state.data.nextReconcileAt = Date.now() + reconcileEvery;
      await survive('orphan sweep', () => mutex.runExclusive(() => sweep(reconcileEvery)));
    }
  }
  watchScope.cancel();
  await watch;
  await condition(allHandlersFinished);
  await continueAsNew<typeof autoscalerWorkflow>({ ...input, state: state.data });
  throw ApplicationFailure.nonRetryable('unreachable: continue-as-new returned');
}
