import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { Activities } from '../activities/index.js';
import type { PlannedScaleDown, PlannedScaleUp } from '../activities/plan-contract.js';
import { EvaluatorState, type PlanSummary, type StateData } from './evaluator-state.js';
import { scaleDownWorkflowId, scaleUpWorkflowId } from './ids.js';
import {
  ClusterChangedSchema,
  DrainNodeSchema,
  HoldSchema,
  OperationFinishedSchema,
  OverrideSizeSchema,
  PauseSchema,
  ResumeSchema,
  ScaleGroupSchema,
  clusterChangedSignal,
  describeIssue,
  drainNodeUpdate,
  explainQuery,
  holdUpdate,
  operationFinishedSignal,
  overrideSizeUpdate,
  pauseUpdate,
  planQuery,
  resumeUpdate,
  scaleGroupUpdate,
  statusQuery,
} from './messages.js';
import { scaleDownWorkflow } from './scale-down.js';
import { AutoscalerClusterKey } from './search-attributes.js';
import { scaleUpWorkflow } from './scale-up.js';
import { limitBreach, overrideSteps, recordRefusal } from './steering.js';

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
  /** Plan, and record in `status.wouldHave` what would have started, but never start an operation. */
  dryRun?: boolean;
}

const planning = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
// The watch runs until cancelled; its heartbeat timeout moves it to another worker if this one dies.
const watching = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

const DEFAULT_SCAN_INTERVAL_MS = 30_000;
const DEFAULT_RECONCILE_INTERVAL_MS = 5 * 60_000;
const DEFAULT_MAX_HISTORY_EVENTS = 10_000;

/**
 * The evaluator: one per cluster, ID `autoscaler/<cluster>`. It re-plans when the watch activity signals a change,
 * when an operation finishes or an operator steers it, and at least every scan interval; it starts scale-up and
 * scale-down workflows for the plan, and keeps timers, backoff, pauses and holds in its durable state.
 */
export async function autoscalerWorkflow(input: AutoscalerInput): Promise<void> {
  const state = new EvaluatorState(input.state);
  const mutex = new Mutex();
  const evaluatorId = workflowInfo().workflowId;
  let dirty = true;
  upsertSearchAttributes([{ key: AutoscalerClusterKey, value: input.cluster }]);

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

  setHandler(
    pauseUpdate,
    (raw) => {
      const req = PauseSchema.parse(raw);
      const until = req.forSeconds ? Date.now() + req.forSeconds * 1000 : undefined;
      if (req.group) state.data.pausedGroups[req.group] = { reason: req.reason, until };
      else state.data.paused = { reason: req.reason, until };
      dirty = true;
      return state.status();
    },
    {
      validator: (raw) => {
        const parsed = PauseSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`pause refused: ${describeIssue(parsed.error)}`);
        if (parsed.data.group && !knownGroup(parsed.data.group))
          throw new Error(unknownGroupMessage(parsed.data.group));
      },
      description: 'Stop starting scale-ups and scale-downs, for the cluster or one group; running ones finish.',
    },
  );

  setHandler(
    resumeUpdate,
    (raw) => {
      const req = ResumeSchema.parse(raw);
      if (req.group) {
        delete state.data.pausedGroups[req.group];
        delete state.data.overrides?.[req.group];
      } else state.data.paused = null;
      dirty = true;
      return state.status();
    },
    {
      validator: (raw) => {
        const parsed = ResumeSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`resume refused: ${describeIssue(parsed.error)}`);
      },
      description: 'Undo a pause.',
    },
  );

  setHandler(
    holdUpdate,
    (raw) => {
      const req = HoldSchema.parse(raw);
      if (req.release) delete state.data.holds[req.node];
      else
        state.data.holds[req.node] = {
          reason: req.reason,
          until: req.forSeconds ? Date.now() + req.forSeconds * 1000 : undefined,
        };
      dirty = true;
      return state.status();
    },
    {
      validator: (raw) => {
        const parsed = HoldSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`hold refused: ${describeIssue(parsed.error)}`);
      },
      description: 'Keep a node from being removed (release: true lifts the hold).',
    },
  );

  setHandler(
    scaleGroupUpdate,
    async (raw) => {
      const req = ScaleGroupSchema.parse(raw);
      return mutex.runExclusive(async () => {
        const current = state.groupSize(req.group);
        if (req.size > current) {
          const view = state.lastPlan!.groups[req.group]!;
          const id = await startScaleUp({
            group: req.group,
            count: req.size - current,
            reason: `operator: ${req.reason}`,
            provisionTimeoutMs: view.provisionTimeoutMs,
          });
          return {
            started: [id],
            message: `adding ${req.size - current} VM(s) to ${req.group} (${current} -> ${req.size})`,
          };
        }
        if (req.size < current) {
          const victims = pickNodesToRemove(req.group, current - req.size);
          const started: string[] = [];
          const drainTimeoutMs = state.lastPlan!.groups[req.group]!.drainTimeoutMs;
          for (const v of victims)
            started.push(await startScaleDown({ ...v, reason: `operator: ${req.reason}`, drainTimeoutMs }));
          const short = current - req.size - victims.length;
          return {
            started,
            message: `removing ${victims.length} node(s) from ${req.group}${short > 0 ? `; ${short} more could not be chosen (held, busy or still joining)` : ''}`,
          };
        }
        return { started: [], message: `${req.group} is already at ${current}` };
      });
    },
    {
      validator: (raw) => {
        const parsed = ScaleGroupSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`scaleGroup refused: ${describeIssue(parsed.error)}`);
        if (input.dryRun) throw new Error('scaleGroup refused: this evaluator runs in dry-run mode');
        const { group, size } = parsed.data;
        const view = state.lastPlan?.groups[group];
        if (!view) throw new Error(unknownGroupMessage(group));
        if (size > view.max) throw new Error(`scaleGroup ${group} to ${size} refused: max-size is ${view.max}`);
        if (size < view.min) throw new Error(`scaleGroup ${group} to ${size} refused: min-size is ${view.min}`);
      },
      description: 'Set a group to a size within [min-size, max-size].',
    },
  );

  setHandler(
    drainNodeUpdate,
    async (raw) => {
      const req = DrainNodeSchema.parse(raw);
      return mutex.runExclusive(async () => {
        const node = state.lastPlan!.nodes[req.node]!;
        const drainTimeoutMs = state.lastPlan!.groups[node.group]!.drainTimeoutMs;
        return {
          workflowId: await startScaleDown({
            node: req.node,
            group: node.group,
            hostname: node.hostname,
            reason: `operator: ${req.reason}`,
            drainTimeoutMs,
          }),
        };
      });
    },
    {
      validator: (raw) => {
        const parsed = DrainNodeSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`drainNode refused: ${describeIssue(parsed.error)}`);
        if (input.dryRun) throw new Error('drainNode refused: this evaluator runs in dry-run mode');
        const node = state.lastPlan?.nodes[parsed.data.node];
        if (!node) throw new Error(`drainNode refused: ${parsed.data.node} is not a node slicer-autoscaler manages`);
        if (state.isBusy(parsed.data.node))
          throw new Error(`drainNode refused: ${parsed.data.node} is already being removed`);
        const view = state.lastPlan!.groups[node.group];
        if (view && state.groupSize(node.group) - 1 < view.min) {
          throw new Error(`drainNode refused: ${node.group} would drop below min-size ${view.min}`);
        }
      },
      description: 'Drain and remove one managed node (PodDisruptionBudgets still hold).',
    },
  );

  setHandler(
    overrideSizeUpdate,
    async (raw) => {
      const req = OverrideSizeSchema.parse(raw);
      // Limits come from the plan; right after a start there may not be one yet.
      await condition(() => state.lastPlan !== null, '1 minute');
      const breach = limitBreach(req.group, req.size, state.lastPlan?.groups[req.group]);
      if (breach) {
        // Recorded, not only refused: a schedule that asks the impossible must be visible in `status`.
        recordRefusal(state.data, { at: Date.now(), source: req.source, message: `overrideSize ${breach}` });
        throw ApplicationFailure.nonRetryable(`overrideSize ${breach}`, 'LimitRefused');
      }
      const until = Date.now() + req.forSeconds * 1000;
      state.data.overrides = { ...state.data.overrides, [req.group]: { size: req.size, until, reason: req.reason } };
      dirty = true;
      return state.status();
    },
    {
      validator: (raw) => {
        const parsed = OverrideSizeSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`overrideSize refused: ${describeIssue(parsed.error)}`);
        if (!knownGroup(parsed.data.group)) throw new Error(unknownGroupMessage(parsed.data.group));
      },
      description: 'Pin a group at a size within [min-size, max-size] for forSeconds (resume --group ends it early).',
    },
  );

  setHandler(statusQuery, () => ({ ...state.status(), dryRun: input.dryRun ?? false }), {
    description: 'Pauses, holds, backoff, operations and group sizes.',
  });
  setHandler(planQuery, () => state.lastPlan, {
    description: 'The last plan with a verdict for each pending pod and managed node.',
  });
  setHandler(explainQuery, (subject) => state.explain(subject), {
    description: 'Why a pod is pending or a node is kept: { pod: "ns/name" } or { node }.',
  });

  function knownGroup(group: string): boolean {
    return state.lastPlan === null || group in state.lastPlan.groups;
  }
  function unknownGroupMessage(group: string): string {
    const known = Object.keys(state.lastPlan?.groups ?? {}).join(', ') || '(none yet)';
    return `unknown node group '${group}'; configured groups: ${known}`;
  }

  function pickNodesToRemove(group: string, count: number): { node: string; group: string; hostname: string }[] {
    const rank = (kind: string) => (kind === 'removable' ? 0 : kind === 'unneeded' ? 1 : 2);
    return Object.entries(state.lastPlan?.nodes ?? {})
      .filter(([name, n]) => n.group === group && !state.isBusy(name) && !(name in state.data.holds))
      .sort(([a, x], [b, y]) => rank(x.verdict.kind) - rank(y.verdict.kind) || a.localeCompare(b))
      .slice(0, count)
      .map(([node, n]) => ({ node, group: n.group, hostname: n.hostname }));
  }

  async function startScaleUp(up: PlannedScaleUp): Promise<string> {
    const workflowId = scaleUpWorkflowId(up.group, `${input.cluster}-${state.nextSeq()}`);
    await startChild(scaleUpWorkflow, {
      workflowId,
      args: [
        {
          group: up.group,
          count: up.count,
          reason: up.reason,
          provisionTimeoutMs: up.provisionTimeoutMs,
          notify: evaluatorId,
        },
      ],
      // Operations outlive an evaluator run: continue-as-new must not cancel a half-made VM.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `scale-up ${up.group} +${up.count}`,
    });
    state.started(workflowId, {
      kind: 'scale-up',
      group: up.group,
      count: up.count,
      startedAt: Date.now(),
      reason: up.reason,
    });
    return workflowId;
  }

  async function startScaleDown(down: PlannedScaleDown): Promise<string> {
    const workflowId = scaleDownWorkflowId(down.node);
    await startChild(scaleDownWorkflow, {
      workflowId,
      args: [
        {
          node: down.node,
          group: down.group,
          hostname: down.hostname,
          reason: down.reason,
          drainTimeoutMs: down.drainTimeoutMs,
          notify: evaluatorId,
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `scale-down ${down.node}`,
    });
    state.started(workflowId, {
      kind: 'scale-down',
      group: down.group,
      node: down.node,
      startedAt: Date.now(),
      reason: down.reason,
    });
    return workflowId;
  }

  /** The operations that bring groups under a size override to their pinned size; breaches are recorded. */
  function overrideOperations(plan: PlanSummary): { ups: PlannedScaleUp[]; downs: PlannedScaleDown[] } {
    const ups: PlannedScaleUp[] = [];
    const downs: PlannedScaleDown[] = [];
    const steps = overrideSteps(state.data, plan, Date.now(), (g) => state.groupSize(g), pickNodesToRemove);
    for (const step of steps) {
      if (step.kind === 'up') ups.push(step.up);
      else if (step.kind === 'down') downs.push(step.down);
      else {
        recordRefusal(state.data, { at: Date.now(), source: 'size override', message: step.message });
        delete state.data.overrides?.[step.group];
      }
    }
    return { ups, downs };
  }

  async function evaluate(): Promise<void> {
    state.expire(Date.now());
    const plan = await planning.planScaling(state.planRequest(Date.now()));
    state.recordPlan(plan);
    if (state.data.paused) {
      setCurrentDetails(`**paused**: ${state.data.paused.reason}`);
      return;
    }
    const pinned = overrideOperations(plan);
    const ups = [...plan.scaleUps, ...pinned.ups].filter((up) => !(up.group in state.data.pausedGroups));
    const downs = [...plan.scaleDowns, ...pinned.downs].filter(
      (down) => !(down.group in state.data.pausedGroups || state.isBusy(down.node) || down.node in state.data.holds),
    );
    if (input.dryRun) state.data.wouldHave = { at: plan.at, scaleUps: ups, scaleDowns: downs };
    else {
      for (const up of ups) await startScaleUp(up);
      for (const down of downs) await startScaleDown(down);
    }
    setCurrentDetails(
      [
        `**${input.cluster}**: ${plan.pendingPods} pending pod(s), ${Object.keys(plan.nodes).length} managed node(s)`,
        plan.blocked ? `scale-down blocked: ${plan.blocked.message}` : '',
        input.dryRun ? `**dry-run**: would start ${ups.length} scale-up(s), ${downs.length} scale-down(s)` : '',
        ...Object.entries(plan.groups).map(
          ([g, v]) => `- ${g}: ${v.size} node(s) (${v.ready} Ready), min ${v.min}, max ${v.max}`,
        ),
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }

  // The watch feeds this run; it is cancelled before continue-as-new and started again by the next run.
  const watchScope = new CancellationScope();
  const watch = watchScope
    .run(() => watching.watchCluster({ evaluatorId }))
    .catch((err: unknown) => {
      if (!isCancellation(err)) log.error('cluster watch ended', { error: String(err) });
    });

  const scanIntervalMs = input.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const canDue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;
  const reconcileEvery = input.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  let nextReconcile = Date.now() + reconcileEvery;
  while (!canDue()) {
    const expiry = state.nextExpiry();
    const wait = Math.max(1, Math.min(scanIntervalMs, expiry !== undefined ? expiry - Date.now() : scanIntervalMs));
    await condition(() => dirty || canDue(), wait);
    if (canDue()) break;
    dirty = false;
    await mutex.runExclusive(evaluate);
    if (Date.now() >= nextReconcile) {
      nextReconcile = Date.now() + reconcileEvery;
      await mutex.runExclusive(async () => {
        // Operations normally report back; this catches one terminated by hand or lost in some other way.
        // Older than one sweep interval: a fresh operation may not be visible to describe() yet.
        const old = Object.entries(state.data.operations).filter(([, o]) => Date.now() - o.startedAt > reconcileEvery);
        if (old.length > 0) {
          for (const c of await planning.closedOperations({ workflowIds: old.map(([id]) => id) })) {
            const op = state.data.operations[c.workflowId]!;
            state.finished(
              c.workflowId,
              {
                kind: op.kind,
                group: op.group,
                succeeded: false,
                message: `workflow ${c.status} without reporting back`,
              },
              Date.now(),
            );
          }
        }
        const findings = await planning.reconcile(state.busy());
        state.recordOrphans(findings, Date.now());
        if (findings.some((f) => f.action !== 'reported')) dirty = true;
      });
    }
  }
  watchScope.cancel();
  await watch;
  await condition(allHandlersFinished);
  await continueAsNew<typeof autoscalerWorkflow>({ ...input, state: state.data });
  throw ApplicationFailure.nonRetryable('unreachable: continue-as-new returned');
}
