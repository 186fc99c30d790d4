import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { seededRandom } from '../../../src/util/seeded-random.js';
import { eventually, kubeClients } from '../helpers/kube.js';
import { finish, startEvaluatorByHand, startScenario, STEP, type Scenario } from './harness.js';
import { spawnWorker, tail, type WorkerProcess } from './worker-process.js';
import { pinFirstNode, protectedPods, timeline, workloads, type Workload } from './workload.js';

// Fault suite, the worker: real worker processes (`slicer-autoscaler worker`) SIGKILLed at random moments while
// scale-ups and scale-downs run. Whatever an activity was doing is lost with the process; Temporal hands it to a
// worker again (after its heartbeat or start-to-close timeout), and every operation must still end cleanly.

/** How many times the single worker is killed, at operation counts drawn from 2..19. */
const KILLS = 3;
/**
 * The churn goes on until 20 operations ran and every kill happened, for at most this long. Here it takes 150-180 s:
 * each kill costs a worker start (~5 s) and up to a heartbeat timeout (30 s) for what the killed worker ran.
 */
const CHURN_LIMIT_MS = 360_000;
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
        const at = killAt.shift()!;
        await delay(random() * 2000);
        await current.kill('SIGKILL');
        kills += 1;
        timeline.push(`kill ${kills} (at ${at} ops) ${((Date.now() - t0) / 1000).toFixed(0)}s`);
        const spawned = Date.now();
        current = worker(sc, `w${kills + 1}`);
        await current.ready();
        timeline.push(`w${kills + 1} ready in ${((Date.now() - spawned) / 1000).toFixed(1)}s`);
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
        timeline.push(`${await operations(sc)} ops, ${kills} kills ${((Date.now() - t0) / 1000).toFixed(0)}s`);
      }
    } finally {
      stop = true;
      await killer;
    }
    // The timeline says where the churn stalled when the kills or the operations fall short.
    console.log(`[faults] worker kill: seed ${SEED}, ${kills} SIGKILL(s)\n  steps: ${timeline.join(', ')}`);
    expect(kills).toBe(KILLS);
    await web.scale(0);
    const verdict = await finish('worker SIGKILLed and restarted', s, t0, { timeoutMs: 180_000 });
    expect(verdict.operations.scaleUps + verdict.operations.scaleDowns).toBeGreaterThanOrEqual(20);
    expect(verdict.violations).toEqual([]);
  }, 720_000);

  it('SIGKILLed while a VM joins: its Node is kept until the scale-up sees it, which then succeeds', async () => {
    const t0 = Date.now();
    // The VM's Node registers 3 s after the create, so the kill lands while the scale-up waits for it.
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 3 }],
      startWorker: false,
      joinDelayMs: 3000,
    });
    const sc = s;
    const { core } = kubeClients();
    await startEvaluatorByHand(sc.p);
    const w1 = worker(sc, 'w1');
    await w1.ready();
    await core.createNamespacedPod({ namespace: sc.p.ns, body: sc.p.pod('needs-a-node', { cpu: '1500m' }) });
    const scaleUps = `AutoscalerCluster = '${sc.p.cluster}' AND WorkflowType = 'scaleUpWorkflow'`;
    const upId = await eventually('a scale-up to start', async () => {
      for await (const w of sc.p.client.workflow.list({ query: scaleUps })) return w.workflowId;
      return undefined;
    });
    const up = sc.p.client.workflow.getHandle(upId);
    await eventually('the scale-up to wait for its Node on w1', async () =>
      (await up.describe()).raw.pendingActivities?.some(
        (a) => a.activityType?.name === 'awaitNodeReady' && a.lastStartedTime,
      ),
    );
    await w1.kill('SIGKILL');
    // Nothing needs the Node once it is there: only the running scale-up may keep it.
    await core.deleteNamespacedPod({ name: 'needs-a-node', namespace: sc.p.ns });
    const w2 = worker(sc, 'w2');
    await w2.ready();
    const result = (await up.result()) as { joined: number; requested: number };
    const closedAt = (await up.describe()).closeTime!.getTime();
    expect(result).toMatchObject({ requested: 1, joined: 1 });
    const downs = `AutoscalerCluster = '${sc.p.cluster}' AND WorkflowType = 'scaleDownWorkflow'`;
    const verdict = await finish('SIGKILLed while a VM joins', s, t0, { timeoutMs: 120_000 });
    expect(verdict.violations).toEqual([]);
    const early: string[] = [];
    for await (const w of sc.p.client.workflow.list({ query: downs }))
      if (w.startTime.getTime() < closedAt) early.push(`${w.workflowId} at ${w.startTime.toISOString()}`);
    expect(early, `scale-downs started before ${upId} ended at ${new Date(closedAt).toISOString()}`).toEqual([]);
    expect(verdict.operations.scaleDowns).toBe(1);
  }, 300_000);

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
