// The scenario `npm run record-histories` plays on the local stack, step by step, with the whole product running
// (simulated Slicer, the real worker, the real planner). It returns the workflows whose histories are kept.
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { CoreV1Api, PolicyV1Api, V1Pod } from '@kubernetes/client-node';
import type { ScenarioName } from '../test/fixtures/histories/fixtures.js';
import type { ScaleDownResult } from '../src/workflows/scale-down.js';
import type { ScaleUpResult } from '../src/workflows/scale-up.js';
import {
  clusterChangedSignal,
  drainNodeUpdate,
  holdSignal,
  holdUpdate,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  scaleGroupSignal,
  scaleGroupUpdate,
  statusQuery,
} from '../src/workflows/messages.js';

export interface ScenarioContext {
  client: Client;
  core: CoreV1Api;
  policy: PolicyV1Api;
  evaluator: WorkflowHandle;
  /** Group whose VMs join, and group whose VMs never do. */
  joining: string;
  neverJoining: string;
  ns: string;
  say(line: string): void;
}

/** A workflow to keep: its ID and run. */
export interface Recorded {
  workflowId: string;
  runId: string;
}

/** Polls until `fn` returns something other than undefined/false; fails naming what it waited for. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await delay(500);
  }
  throw new Error(
    `gave up waiting for ${what} after ${timeoutMs / 1000} s${last ? `: ${(last as Error).message}` : ''}`,
  );
}

const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';

function pod(name: string, group: string): V1Pod {
  return {
    // Bare pods are protected by the drain unless marked evictable; here a PodDisruptionBudget must do the holding.
    metadata: { name, labels: { app: name }, annotations: { [SAFE_TO_EVICT]: 'true' } },
    spec: {
      nodeSelector: { 'slicer/hostgroup': group },
      containers: [
        { name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu: '1200m', memory: '256Mi' } } },
      ],
    },
  };
}

/** The newest finished operation of a kind and group the evaluator knows of, once there is one after `after`. */
async function finishedOp(ctx: ScenarioContext, kind: string, group: string, after: number) {
  return until(`a finished ${kind} in ${group}`, async () => {
    const s = await ctx.evaluator.query(statusQuery);
    return s.recent.find((r) => r.kind === kind && r.group === group && r.at > after);
  });
}

async function runOf(ctx: ScenarioContext, workflowId: string): Promise<Recorded> {
  const d = await ctx.client.workflow.getHandle(workflowId).describe();
  return { workflowId, runId: d.runId };
}

/** Plays the scenario; returns each kept workflow by scenario name. */
export async function playScenario(ctx: ScenarioContext): Promise<Record<ScenarioName, Recorded>> {
  const { core, policy, evaluator, joining, neverJoining, ns, say } = ctx;
  const first = await evaluator.describe();
  await until('the first evaluation', async () => (await evaluator.query(statusQuery)).lastEvaluationAt);

  say('a pending pod: the planner scales up, the VM joins, the pod runs');
  let t = Date.now();
  await core.createNamespacedPod({ namespace: ns, body: pod('web', joining) });
  const node = await until('pod web Running on a new node', async () => {
    const p = await core.readNamespacedPod({ name: 'web', namespace: ns });
    return p.status?.phase === 'Running' ? p.spec?.nodeName : undefined;
  });
  const up = await finishedOp(ctx, 'scale-up', joining, t);

  say(`operator commands as updates, then as signals (one refused), on node ${node}`);
  await evaluator.executeUpdate(pauseUpdate, { args: [{ reason: 'recording: update' }] });
  await evaluator.executeUpdate(resumeUpdate, { args: [{}] });
  await evaluator.executeUpdate(holdUpdate, { args: [{ node, reason: 'recording: update', forSeconds: 600 }] });
  await evaluator.executeUpdate(holdUpdate, { args: [{ node, reason: 'recording: update', release: true }] });
  await evaluator.signal(pauseSignal, { group: joining, reason: 'recording: signal', forSeconds: 600 });
  await evaluator.signal(resumeSignal, { group: joining });
  await evaluator.signal(holdSignal, { node, reason: 'recording: signal' });
  await evaluator.signal(holdSignal, { node, reason: 'recording: signal', release: true });
  await evaluator.signal(scaleGroupSignal, { group: joining, size: 99, reason: 'recording: refused' });
  await until('the refused signal in status', async () =>
    (await evaluator.query(statusQuery)).refusals.some((r) => r.command === 'scaleGroup'),
  );

  say(`scaleGroup ${neverJoining} to 1 (update): its VM never joins and is deleted at the deadline`);
  t = Date.now();
  await evaluator.executeUpdate(scaleGroupUpdate, { args: [{ group: neverJoining, size: 1, reason: 'recording' }] });
  const failedUp = await finishedOp(ctx, 'scale-up', neverJoining, t);

  say('a PodDisruptionBudget holds the pod; the operator drains its node: rolled back at the drain timeout');
  await policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { metadata: { name: 'web' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } },
  });
  await until(
    'the PDB to count the pod',
    async () => (await policy.readNamespacedPodDisruptionBudget({ name: 'web', namespace: ns })).status?.expectedPods,
  );
  t = Date.now();
  const drain = await evaluator.executeUpdate(drainNodeUpdate, { args: [{ node, reason: 'recording: blocked' }] });
  // The removal below reuses the workflow ID scale-down/<node>: this run is told apart by its run ID.
  const rolledBack = await runOf(ctx, drain.workflowId);
  await finishedOp(ctx, 'scale-down', joining, t);

  say('the pod and its PDB go: the planner removes the unneeded node');
  await policy.deleteNamespacedPodDisruptionBudget({ name: 'web', namespace: ns });
  await core.deleteNamespacedPod({ name: 'web', namespace: ns, gracePeriodSeconds: 0 });
  t = Date.now();
  const down = await finishedOp(ctx, 'scale-down', joining, t);
  await until('the node gone', async () => {
    const list = await core.listNode({ labelSelector: `slicer/hostgroup=${joining}` });
    return list.items.length === 0;
  });

  const before = await evaluator.describe();
  if (before.runId !== first.runId)
    throw new Error('the evaluator continued as new before the scenario ended: raise MAX_HISTORY_EVENTS');
  say(`${before.historyLength} events so far; clusterChanged signals in bursts until the evaluator continues as new`);
  await until(
    'continue-as-new',
    async () => {
      await Promise.all(
        Array.from({ length: 25 }, () =>
          evaluator.signal(clusterChangedSignal, { reasons: ['recording: toward continue-as-new'], changes: 1 }),
        ),
      );
      return (await evaluator.describe()).runId !== first.runId;
    },
    600_000,
  );
  const continuedAt = Date.now();
  await until('an evaluation in the continued run', async () => {
    const at = (await evaluator.query(statusQuery)).lastEvaluationAt;
    return at !== undefined && at > continuedAt;
  });
  await evaluator.executeUpdate(pauseUpdate, { args: [{ reason: 'recording: continued run' }] });
  await evaluator.executeUpdate(resumeUpdate, { args: [{}] });
  const continued = await evaluator.describe();

  return {
    'evaluator-fresh': { workflowId: first.workflowId, runId: first.runId },
    'evaluator-continued': { workflowId: continued.workflowId, runId: continued.runId },
    'scale-up-joins': await runOf(ctx, up.workflowId),
    'scale-up-never-joins': await runOf(ctx, failedUp.workflowId),
    'scale-down-rolls-back': rolledBack,
    'scale-down-removes': await runOf(ctx, down.workflowId),
  };
}

/** Fails unless each kept operation ended the way its scenario name says. */
export async function checkOutcomes(client: Client, kept: Record<ScenarioName, Recorded>): Promise<void> {
  const result = async <T>(r: Recorded) => (await client.workflow.getHandle(r.workflowId, r.runId).result()) as T;
  const expectations: [ScenarioName, boolean][] = [
    ['scale-up-joins', (await result<ScaleUpResult>(kept['scale-up-joins'])).joined === 1],
    ['scale-up-never-joins', (await result<ScaleUpResult>(kept['scale-up-never-joins'])).joined === 0],
    ['scale-down-removes', (await result<ScaleDownResult>(kept['scale-down-removes'])).outcome === 'removed'],
    ['scale-down-rolls-back', (await result<ScaleDownResult>(kept['scale-down-rolls-back'])).outcome === 'rolled-back'],
  ];
  const wrong = expectations.filter(([, ok]) => !ok).map(([name]) => name);
  if (wrong.length) throw new Error(`scenario outcome not as named: ${wrong.join(', ')}`);
}
