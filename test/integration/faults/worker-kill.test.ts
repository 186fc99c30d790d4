import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { seededRandom } from '../../../src/util/seeded-random.js';
import { finish, startEvaluatorByHand, startScenario, STEP, type Scenario } from './harness.js';
import { spawnWorker, tail, type WorkerProcess } from './worker-process.js';
import { pinFirstNode, protectedPods, timeline, workloads, type Workload } from './workload.js';

// Fault suite, the worker: real worker processes (`slicer-autoscaler worker`) SIGKILLed at random moments while
// scale-ups and scale-downs run. Whatever an activity was doing is lost with the process; Temporal hands it to a
// worker again (after its heartbeat or start-to-close timeout), and every operation must still end cleanly.

/** How many times the single worker is killed, at operation counts drawn from 2..19. */
const KILLS = 3;
/** The churn goes on until 20 operations ran and every kill happened, for at most this long. */
const CHURN_LIMIT_MS = 240_000;
/** Seed of the kill times; printed so a failure can be replayed. */
const SEED = Number(process.env['FAULTS_SEED'] ?? 20261125);

async function operations(s: Scenario): Promise<number> {
  const q = `AutoscalerCluster = '${s.p.cluster}' AND WorkflowType IN ('scaleUpWorkflow', 'scaleDownWorkflow')`;
  return (await s.p.client.workflow.count(q)).count;
}

describe('fault suite: worker processes killed', () => {
  let s: Scenario | undefined;
  let workers: WorkerProcess[] = [];
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async (ctx) => {
    // A failure shows what the workers said last (their logs live in the stack's state dir, removed at the end).
    if (ctx.task.result?.state === 'fail')
      for (const w of workers) console.log(`[faults] worker ${w.name} log tail:\n${tail(w.logFile, 30)}`);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    s?.monitor.stop();
    await s?.p
      .evaluator()
      .terminate('test over')
      .catch(() => undefined);
    for (const w of workers) await w.kill();
    workers = [];
    await s?.p.stop();
    s = undefined;
  });

  function worker(sc: Scenario, name: string): WorkerProcess {
    const args = ['--cloud-config', sc.p.configPath, '--kubeconfig', inject('kubeconfigPath'), ...sc.flags];
    const w = spawnWorker(name, args, { logDir: sc.dir });
    workers.push(w);
    return w;
  }

  async function setUp(sc: Scenario): Promise<Workload> {
    const { web } = await workloads(sc.p, sc.p.groups[0]!);
    cleanups.push(await pinFirstNode(sc.p, sc.p.groups[0]!, sc.monitor, web, STEP));
    return web;
  }

  const batchB = (sc: Scenario) => async () =>
    void cleanups.push(await protectedPods(sc.p, sc.p.groups[0]!, sc.monitor, 'b'));

  it('SIGKILLed at random moments across 20 operations, restarted each time', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }], startWorker: false });
    const sc = s;
    await startEvaluatorByHand(sc.p);
    let current = worker(sc, 'w1');
    await current.ready();
    const web = await setUp(sc);
    const random = seededRandom(SEED);
    // Kill when the count of operations started reaches each of KILLS random points, a random moment later.
    const points = new Set<number>();
    while (points.size < KILLS) points.add(2 + Math.floor(random() * 18));
    const killAt = [...points].sort((x, y) => x - y);
    let stop = false;
    let kills = 0;
    const killer = (async () => {
      while (!stop && killAt.length > 0) {
        if ((await operations(sc)) < killAt[0]!) {
          await delay(250);
          continue;
        }
        killAt.shift();
        await delay(random() * 2000);
        await current.kill('SIGKILL');
        kills += 1;
        current = worker(sc, `w${kills + 1}`);
        await current.ready();
      }
    })();
    try {
      const steps = [3, 0, 4, 1, 3, 0];
      await web.churn(steps.slice(0, 2), { ...STEP, onFirstScaleDown: batchB(sc) });
      const until = Date.now() + CHURN_LIMIT_MS;
      for (let i = 2; Date.now() < until && ((await operations(sc)) < 20 || killAt.length > 0); i++) {
        // Longer than --scale-down-unneeded-time (3 s) plus a scan: a lowered count must get its scale-downs before
        // the next step raises it again, or the churn makes no operations at all.
        await web.churn([steps[i % 6]!], { ...STEP, dwellMs: 6000 });
        timeline.push(`${await operations(sc)} ops, ${kills} kills`);
      }
    } finally {
      stop = true;
      await killer;
    }
    console.log(`[faults] worker kill: seed ${SEED}, ${kills} SIGKILL(s)`);
    expect(kills).toBe(KILLS);
    await web.scale(0);
    const verdict = await finish('worker SIGKILLed and restarted', s, t0, { timeoutMs: 180_000 });
    expect(verdict.operations.scaleUps + verdict.operations.scaleDowns).toBeGreaterThanOrEqual(20);
    expect(verdict.violations).toEqual([]);
  }, 600_000);

  it('two workers at once, one SIGKILLed mid-operation; the other carries on', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }], startWorker: false });
    const sc = s;
    await startEvaluatorByHand(sc.p);
    const a = worker(sc, 'a');
    const b = worker(sc, 'b');
    await Promise.all([a.ready(), b.ready()]);
    const web = await setUp(sc);
    await web.churn([3], STEP);
    await web.scale(1);
    await batchB(sc)();
    await delay(1000 + seededRandom(SEED)() * 3000);
    await a.kill('SIGKILL');
    await web.churn([1, 4, 0], STEP);
    const verdict = await finish('two workers, one SIGKILLed', s, t0, { timeoutMs: 180_000 });
    expect(verdict.violations).toEqual([]);
  }, 600_000);
});
