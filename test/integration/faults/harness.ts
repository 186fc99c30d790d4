import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { autoscalerWorkflowId, taskQueueFor } from '../../../src/shared/ids.js';
import { eventually } from '../helpers/kube.js';
import { startProduct, type Product, type ProductGroup, type ProductOptions } from '../helpers/product.js';
import { startMonitor, type GroupLimits, type Monitor, type Verdict } from './invariants.js';
import { timeline } from './workload.js';

// Shared set-up of the fault scenarios: short timers so a scenario's operations finish in seconds, the product on
// the real stack, and the invariant monitor recording from before the first operation.

/** Worker flags of every scenario (cluster-autoscaler names): plan every second, remove nodes soon. */
export const FLAGS = [
  '--scan-interval=1s',
  '--scale-down-delay-after-add=0s',
  '--scale-down-unneeded-time=3s',
  '--scale-down-unready-time=5s',
  // A drain rolled back (say its worker was SIGKILLed and the retry came past the drain timeout) must not stop
  // scale-down for cluster-autoscaler's default 3 minutes, longer than a whole churn.
  '--scale-down-delay-after-failure=5s',
  '--initial-node-group-backoff-duration=5s',
  '--max-node-group-backoff-duration=10s',
];

/** `[global]` lines of every scenario. */
export const GLOBAL = ['node-provision-timeout = 30s', 'drain-timeout = 30s'];

export interface ScenarioGroup extends ProductGroup {
  min: number;
  max: number;
}

export interface ScenarioOptions extends Omit<ProductOptions, 'groups'> {
  groups: ScenarioGroup[];
  /**
   * Start the evaluator by hand with this orphan-sweep interval before the worker would start it (5 minutes by
   * default, longer than a scenario): for scenarios whose recovery involves the sweep.
   */
  reconcileIntervalMs?: number;
}

export interface Scenario {
  p: Product;
  monitor: Monitor;
  /** Directory for this scenario's files (logs of worker processes, kubeconfigs). */
  dir: string;
  /** The flags workers of this scenario run with. */
  flags: string[];
}

/** Starts the product and the monitor. */
export async function startScenario(opts: ScenarioOptions): Promise<Scenario> {
  timeline.length = 0;
  const flags = [...FLAGS, ...(opts.flags ?? [])];
  const handStart = opts.reconcileIntervalMs !== undefined;
  const p = await startProduct({
    ...opts,
    flags,
    global: [...GLOBAL, ...(opts.global ?? [])],
    groups: opts.groups.map(({ min, max, ...g }) => ({
      ...g,
      lines: [`min-size = ${min}`, `max-size = ${max}`, ...(g.lines ?? [])],
    })),
    startWorker: handStart ? false : opts.startWorker,
  });
  const limits: Record<string, GroupLimits> = {};
  opts.groups.forEach((g, i) => (limits[p.groups[i]!] = { min: g.min, max: g.max }));
  const monitor = await startMonitor(p, limits);
  const dir = join(inject('stackDir'), p.cluster);
  mkdirSync(dir, { recursive: true });
  if (handStart) {
    await startEvaluatorByHand(p, { reconcileIntervalMs: opts.reconcileIntervalMs });
    if (opts.startWorker !== false) await p.startWorker();
  }
  return { p, monitor, dir, flags };
}

/**
 * Starts `autoscaler/<cluster>` the way the worker does (same input from the same flags), as an operator would
 * with `temporal workflow start`; `reconcileIntervalMs` is a test input of the workflow.
 */
export async function startEvaluatorByHand(p: Product, extra: { reconcileIntervalMs?: number } = {}): Promise<void> {
  await p.client.workflow.start('autoscalerWorkflow', {
    taskQueue: taskQueueFor(p.cluster),
    workflowId: autoscalerWorkflowId(p.cluster),
    args: [
      {
        cluster: p.cluster,
        scanIntervalMs: 1000,
        backoffInitialMs: 5000,
        backoffMaxMs: 10_000,
        ...(extra.reconcileIntervalMs !== undefined && { reconcileIntervalMs: extra.reconcileIntervalMs }),
      },
    ],
  });
}

/** Waits for the evaluator to run (a worker picked it up and it planned once). */
export async function evaluatorRunning(p: Product): Promise<void> {
  await eventually('the evaluator to run', async () => (await p.evaluator().describe()).status.name === 'RUNNING');
}

/** Judges the invariants, prints one line for the README table, stops the monitor. */
export async function finish(
  name: string,
  s: Scenario,
  startedAt: number,
  opts?: Parameters<Monitor['check']>[0],
): Promise<Verdict> {
  try {
    const checkFrom = Date.now();
    const verdict = await s.monitor.check(opts);
    const took = (Date.now() - checkFrom) / 1000;
    timeline.push(`settled and checked in ${took.toFixed(1)}s`);
    // A slow settle says why: what kept the cluster busy, and when.
    if (took > 15) timeline.push(`settling: ${verdict.settling.join(' | ')}`);
    const o = verdict.operations;
    console.log(
      `[faults] ${name}: ${o.scaleUps + o.scaleDowns} operations (${o.scaleUps} scale-up, ${o.scaleDowns} scale-down), ` +
        `VMs +${o.vmsCreated} -${o.vmsDeleted} lost ${o.vmsLost}; ${verdict.violations.length} violation(s); ` +
        `${Math.round((Date.now() - startedAt) / 1000)} s\n  steps: ${timeline.join(', ')}` +
        (verdict.notes.length ? `\n  notes: ${verdict.notes.join('; ')}` : '') +
        (verdict.violations.length ? `\n  violations:\n  - ${verdict.violations.join('\n  - ')}` : ''),
    );
    return verdict;
  } finally {
    s.monitor.stop();
  }
}

/** Step timing of every scenario: a step waits for its pods at most this long, then this long more. */
export const STEP = { dwellMs: 1000, stepTimeoutMs: 30_000 };
