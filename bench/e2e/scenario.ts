import { setTimeout as delay } from 'node:timers/promises';
import { Env, type EnvOptions } from './env.js';
import { runsOf, summarize, type HistorySummary } from './history.js';
import { type Anchor, type ScenarioResult, type Target } from './result.js';

/** What the runner gives a scenario. */
export interface ScenarioContext {
  /** Where this scenario's logs go. */
  dir: string;
  /** Extra node options for the worker (`--worker-node-options`). */
  nodeOptions: string[];
  /** Extra environment of the worker (`--worker-env K=V`). */
  workerEnv: Record<string, string>;
  log: (line: string) => void;
  /** Write a heap snapshot of the worker at the end (`--heap-snapshot`), after its memory was read. */
  heapSnapshot: boolean;
  /** Scale factor for the long scenarios (`--quick` halves counts and windows for a smoke run). */
  quick: boolean;
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** What a scenario's body measured; the runner adds memory, history, load and duration. */
export interface Measured {
  figure: ScenarioResult['figure'];
  figures?: ScenarioResult['figures'];
  vms: ScenarioResult['vms'];
  anchors: Anchor[];
  /** Targets; a function gets the history summary and peak RSS once they are known. */
  targets: (h: HistorySummary, peakRssMiB: number) => Target[];
  /** Only evaluations from this moment on count for the history summary (default: all). */
  historyFromMs?: number;
}

/** How long an idle worker is left before its RSS is read as "idle". */
const IDLE_SETTLE_MS = 3000;

/**
 * Runs one scenario in a fresh environment: starts it, reads the idle worker's memory, runs `body`, then reads the
 * evaluator's histories and the sampler, and stops everything. A body that throws still yields a result (with
 * `error`), so one failed scenario does not lose the others' numbers.
 */
export async function inEnv(
  scenario: { name: string; description: string },
  ctx: ScenarioContext,
  opts: Omit<EnvOptions, 'scenario' | 'dir' | 'log' | 'nodeOptions' | 'workerEnv'>,
  body: (env: Env) => Promise<Measured>,
): Promise<ScenarioResult> {
  const started = Date.now();
  const env = new Env({
    ...opts,
    scenario: scenario.name,
    dir: ctx.dir,
    log: ctx.log,
    nodeOptions: ctx.nodeOptions,
    workerEnv: ctx.workerEnv,
  });
  let measured: Measured | undefined;
  let error: string | undefined;
  let idleRssMiB = 0;
  try {
    await env.start();
    if (env.worker) {
      await delay(IDLE_SETTLE_MS);
      idleRssMiB = Math.round(env.worker.sampler.now());
    }
    measured = await body(env);
    if (!idleRssMiB && env.worker) idleRssMiB = Math.round(env.worker.sampler.now());
  } catch (err) {
    error = (err as Error).stack ?? String(err);
    ctx.log(`FAILED: ${error}`);
  }
  let history: HistorySummary = { runs: 0, continuedAsNew: 0, evaluations: 0, totalBytes: 0 };
  try {
    if (env.client) history = summarize(await runsOf(env.client, env.evaluator().workflowId), measured?.historyFromMs);
  } catch (err) {
    error ??= `reading the evaluator's history: ${String(err)}`;
  }
  const current = env.worker?.sampler.stop();
  if (ctx.heapSnapshot && env.worker) {
    const file = await env.worker.heapSnapshot().catch((err: unknown) => `failed: ${String(err)}`);
    ctx.log(`heap snapshot: ${file}`);
  }
  await env.stop();
  // A scenario that restarted its worker reports the highest peak of all its workers, the first one's series.
  const all = [...env.retired, ...(current ? [current] : [])];
  const machine = all[0] && {
    peakMiB: Math.max(...all.map((m) => m.peakMiB)),
    series: all[0].series,
    loadAtStart: all[0].loadAtStart,
    loadAtEnd: all.at(-1)!.loadAtEnd,
    maxLoad1m: Math.max(...all.map((m) => m.maxLoad1m)),
  };
  const peak = machine?.peakMiB ?? 0;
  return {
    name: scenario.name,
    description: scenario.description,
    figure: measured?.figure ?? { name: 'not measured', value: NaN, unit: '' },
    figures: measured?.figures ?? {},
    vms: measured?.vms ?? { made: NaN, minimum: NaN, peak: NaN },
    worker: { peakRssMiB: peak, idleRssMiB, rss: machine?.series ?? [] },
    history,
    load: {
      atStart: machine?.loadAtStart ?? [],
      atEnd: machine?.loadAtEnd ?? [],
      max1m: machine?.maxLoad1m ?? NaN,
    },
    anchors: measured?.anchors ?? [],
    targets: measured ? measured.targets(history, peak) : [],
    durationSec: Math.round((Date.now() - started) / 1000),
    ...(error && { error }),
  };
}

/** Tracks the most VMs alive at once while a scenario runs. */
export function peakVms(env: Env): { stop(): number } {
  let peak = env.vmCount();
  const timer = setInterval(() => (peak = Math.max(peak, env.vmCount())), 200);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, env.vmCount());
    },
  };
}

/** Rounds to whole milliseconds or to `digits` decimals. */
export function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
