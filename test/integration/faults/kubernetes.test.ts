import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { statusQuery } from '../../../src/workflows/messages.js';
import { eventually } from '../helpers/kube.js';
import { startKubeProxy, type KubeProxy } from '../helpers/kube-proxy.js';
import { finish, startScenario, STEP, type Scenario } from './harness.js';
import { pinFirstNode, protectedPods, workloads, type Workload } from './workload.js';

// Fault suite, Kubernetes: the worker reaches the apiserver through a fault-injecting proxy (helpers/kube-proxy.ts)
// that makes the apiserver unreachable for a while, answers watches with 410 Gone, or fails the pod list; the
// test, the simulator's joins and the rest of the control plane talk to the apiserver directly.

describe('fault suite: Kubernetes', () => {
  let s: Scenario | undefined;
  let proxy: KubeProxy | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    s?.monitor.stop();
    await s?.p.stop();
    s = undefined;
    await proxy?.stop();
    proxy = undefined;
  });

  /** The product with its worker behind the proxy, and the first node pinned by protected pods. */
  async function scenario(): Promise<{ s: Scenario; proxy: KubeProxy; web: Workload }> {
    const kubeconfig = join(inject('stackDir'), `proxy-${randomBytes(3).toString('hex')}.kubeconfig`);
    proxy = await startKubeProxy(inject('kubeconfigPath'), kubeconfig);
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }],
      workerKubeconfig: proxy.kubeconfigPath,
    });
    const { web } = await workloads(s.p, s.p.groups[0]!);
    cleanups.push(await pinFirstNode(s.p, s.p.groups[0]!, s.monitor, web, STEP));
    return { s, proxy, web };
  }

  /** The second batch of protected pods, placed as nodes become unneeded. */
  const batchB = (sc: Scenario) => async () =>
    void cleanups.push(await protectedPods(sc.p, sc.p.groups[0]!, sc.monitor, 'b'));

  async function scaleDownsStartedBetween(sc: Scenario, from: number, to: number): Promise<string[]> {
    const ids: string[] = [];
    const query = `AutoscalerCluster = '${sc.p.cluster}' AND WorkflowType = 'scaleDownWorkflow'`;
    for await (const w of sc.p.client.workflow.list({ query }))
      if (w.startTime.getTime() >= from && w.startTime.getTime() <= to) ids.push(w.workflowId);
    return ids;
  }

  it('the kube-apiserver is unreachable for 6 s in the middle of a drain', async () => {
    const t0 = Date.now();
    const { s, proxy, web } = await scenario();
    await web.churn([4], STEP);
    await web.scale(1);
    await batchB(s)();
    // The moment a removal is evicting, the apiserver "restarts": every connection is cut, new ones refused. A drain
    // can be over before visibility shows its phase; then the outage hits whatever the removals are doing.
    const draining = await eventually(
      'a scale-down in its draining phase',
      async () => {
        const query = `AutoscalerCluster = '${s.p.cluster}' AND ScalingPhase = 'draining' AND ExecutionStatus = 'Running'`;
        for await (const w of s.p.client.workflow.list({ query })) return w.workflowId;
        return undefined;
      },
      30_000,
    ).catch(() => undefined);
    console.log(
      `[faults] apiserver outage ${draining ? `while ${draining} drains` : 'after the removals (no drain caught)'}`,
    );
    await proxy.outage(6000);
    await web.churn([2, 0], STEP);
    const verdict = await finish('kubernetes: apiserver restarted mid-drain', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('watches answered with 410 Gone', async () => {
    const t0 = Date.now();
    const { s, proxy, web } = await scenario();
    await web.churn([2], STEP);
    const rules = ['/api/v1/pods', '/api/v1/nodes', '/apis/policy/v1/poddisruptionbudgets'].map((path) =>
      proxy.addRule({ path: new RegExp(`^${path}$`), watch: true, action: { kind: 'gone' }, times: 3 }),
    );
    // Open watches are cut, so the worker watches again and meets the 410s (three in a row for each kind).
    expect(proxy.cutWatches()).toBeGreaterThan(0);
    await web.churn([4, 1], { ...STEP, onFirstScaleDown: batchB(s) });
    // The informer backs off between failed watches (1 s, 2 s, 5 s): the third 410 comes within seconds.
    await eventually('three 410s for each kind', async () => rules.every((r) => r.hits() === 3), 30_000);
    proxy.cutWatches();
    await web.churn([0], STEP);
    const verdict = await finish('kubernetes: a watch answered with 410 Gone', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('the pod list fails while the worker starts', async () => {
    const t0 = Date.now();
    const { s, proxy, web } = await scenario();
    await web.churn([3], STEP);
    await s.p.stopWorker();
    // Every list of pods fails while the worker starts: its cache knows the nodes but not what runs on them, so
    // each node would look empty. The worker waits 30 s for a complete cache, then starts anyway and must refuse
    // to plan (and drain nothing) until the pods are listed.
    const failing = proxy.addRule({
      method: 'GET',
      path: /^\/api\/v1\/pods$/,
      watch: false,
      action: { kind: 'fail', status: 500 },
    });
    const faultFrom = Date.now();
    const starting = s.p.startWorker();
    const refused = await eventually(
      'the evaluator to say planning waits for the cache',
      // `planError` rides along with `status` while planning fails.
      async () => ((await s.p.evaluator().query(statusQuery)) as { planError?: string }).planError,
      60_000,
    );
    expect(refused).toMatch(/pods never listed/);
    failing.remove();
    await starting;
    expect(failing.hits()).toBeGreaterThan(0);
    // Planning resumes once the pods are listed (the informer retries with backoff, at most 30 s apart). Until
    // then not one removal may start.
    let refusingAt = Date.now();
    await eventually(
      'planning to resume',
      async () => {
        const asked = Date.now();
        if (!((await s.p.evaluator().query(statusQuery)) as { planError?: string }).planError) return true;
        refusingAt = asked;
        return false;
      },
      60_000,
    );
    expect(await scaleDownsStartedBetween(s, faultFrom, refusingAt)).toEqual([]);
    await web.churn([1, 3, 0], { ...STEP, onFirstScaleDown: batchB(s) });
    const verdict = await finish('kubernetes: the pod list failing while the worker starts', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);
});
