import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { seededRandom } from '../../../src/util/seeded-random.js';
import { finish, startEvaluatorByHand, startScenario, type Scenario } from './harness.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';
import { protectedPods, Workload } from './workload.js';

// Fault suite, the worker: real worker processes (`slicer-autoscaler worker`) SIGKILLed at random moments while
// scale-ups and scale-downs run. Whatever an activity was doing is lost with the process; Temporal hands it to a
// worker again (after its heartbeat or start-to-close timeout), and every operation must still end cleanly.

const STEP = { dwellMs: 2000, stepTimeoutMs: 45_000 };
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
  afterEach(async () => {
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

  async function setUp(sc: Scenario): Promise<{ web: Workload; filler: Workload }> {
    const web = new Workload(sc.p, sc.p.groups[0]!, '1500m');
    await web.create();
    const filler = new Workload(sc.p, sc.p.groups[0]!, '200m', 'filler');
    await filler.create();
    await filler.scale(2);
    return { web, filler };
  }

  it('SIGKILLed at random moments across 20 operations, restarted each time', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }], startWorker: false });
    const sc = s;
    await startEvaluatorByHand(sc.p);
    let current = worker(sc, 'w1');
    await current.ready();
    const { web } = await setUp(sc);
    const random = seededRandom(SEED);
    let stop = false;
    let kills = 0;
    const killer = (async () => {
      while (!stop) {
        await delay(4000 + random() * 8000);
        if (stop) break;
        await current.kill('SIGKILL');
        kills += 1;
        current = worker(sc, `w${kills + 1}`);
        await current.ready();
      }
    })();
    try {
      await web.churn([3, 1], STEP);
      cleanups.push(await protectedPods(sc.p, sc.p.groups[0]!, sc.monitor));
      const steps = [4, 0, 2, 5, 1, 3, 0];
      for (let i = 0; (await operations(sc)) < 20; i++) await web.churn([steps[i % steps.length]!], STEP);
    } finally {
      stop = true;
      await killer;
    }
    console.log(`[faults] worker kill: seed ${SEED}, ${kills} SIGKILL(s)`);
    expect(kills).toBeGreaterThanOrEqual(3);
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
    const { web } = await setUp(sc);
    await web.churn([3], STEP);
    cleanups.push(await protectedPods(sc.p, sc.p.groups[0]!, sc.monitor));
    await web.scale(1);
    await delay(1500 + seededRandom(SEED)() * 3000);
    await a.kill('SIGKILL');
    await web.churn([1, 4, 0], STEP);
    const verdict = await finish('two workers, one SIGKILLed', s, t0, { timeoutMs: 180_000 });
    expect(verdict.violations).toEqual([]);
  }, 600_000);
});
