import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { ENDPOINTS } from '../../../src/simulator/faults.js';
import { createSlicerClient } from '../../../src/slicer/client.js';
import { buildUserdata } from '../../../src/slicer/userdata.js';
import { eventually, isReady } from '../helpers/kube.js';
import type { Product } from '../helpers/product.js';
import { finish, startScenario, type Scenario } from './harness.js';
import { protectedPods, Workload } from './workload.js';

// Fault suite, Slicer: the daemon errs, hangs, loses answers and VMs, ignores filters, runs out of RAM and keeps
// another time; every scenario mixes scale-ups and scale-downs and ends with the shared invariants.

const STEP = { dwellMs: 2000, stepTimeoutMs: 40_000 };

/** The same value for every endpoint. */
function everyEndpoint<T>(value: T): Record<string, T> {
  return Object.fromEntries(ENDPOINTS.map((e) => [e, value]));
}

/** A VM made by hand (as the incumbent autoscaler or an operator would): no tags of ours, no vm-id on its Node. */
async function handMadeVm(p: Product, group: string): Promise<string> {
  const slicer = createSlicerClient({ url: p.sim.url, token: new Secret(p.simToken) });
  try {
    const vm = await slicer.createVm(group, {
      userdata: buildUserdata({ group, k3sUrl: 'https://127.0.0.1:6443', labels: {}, taints: [] }),
    });
    return vm.hostname;
  } finally {
    await slicer.close();
  }
}

describe('fault suite: Slicer', () => {
  let s: Scenario | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    s?.monitor.stop();
    await s?.p.stop();
    s = undefined;
  });

  it('30% of calls answer 500, every call 150 ms late', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }] });
    const { p, monitor } = s;
    p.sim.setFaults({ errorRate: everyEndpoint(0.3), latencyMs: everyEndpoint(150), seed: 7 });
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    await web.churn([3, 1], STEP);
    cleanups.push(await protectedPods(p, p.groups[0]!, monitor));
    await web.churn([4, 2, 0], STEP);
    const verdict = await finish('slicer: 30% 5xx with latency', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a create that hangs until the client gives up, then answers again', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 4 }] });
    const { p } = s;
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    p.sim.setFaults({ hangCreate: true });
    await web.scale(2);
    await delay(8000);
    expect(p.sim.vms()).toEqual([]);
    // Back to normal: the hanging requests are cut, and the retried creates go through.
    p.sim.setFaults({ hangCreate: false });
    expect(await web.settled(60_000)).toBe(true);
    await web.churn([0, 3, 1], STEP);
    const verdict = await finish('slicer: a create that hangs', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a create that succeeds on Slicer after the client gave up on it', async () => {
    const t0 = Date.now();
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 3 }],
      reconcileIntervalMs: 10_000,
    });
    const { p } = s;
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    // The answer is lost but the VM is there at once: the retry finds it by its tag.
    p.sim.setFaults({ dropCreateAnswers: 1 });
    await web.scale(1);
    expect(await web.settled(40_000)).toBe(true);
    // The daemon finishes 4 s after the client gave up, when the retry has already made another VM.
    p.sim.setFaults({ dropCreateAnswers: 2, droppedCreateVmAfterMs: 4000 });
    await web.churn([3, 0, 2], STEP);
    const verdict = await finish('slicer: a create that succeeds after the client gave up', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a delete that answers 500 twice', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 4 }] });
    const { p } = s;
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    await web.churn([3], STEP);
    p.sim.setFaults({ failDeletes: 2 });
    await web.churn([1, 2, 0], STEP);
    const verdict = await finish('slicer: a delete that 500s twice', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a daemon restart loses every VM; new VMs reuse the hostnames', async () => {
    const t0 = Date.now();
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }],
      reconcileIntervalMs: 10_000,
    });
    const { p } = s;
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    await web.churn([3], STEP);
    const before = (await p.nodes()).map((n) => n.metadata!.name!);
    await p.sim.restart();
    // The lost Nodes go (NotReady past --scale-down-unready-time), their pods come back on new VMs.
    await web.churn([3, 1, 2], STEP);
    const after = await p.nodes();
    expect(after.some((n) => before.includes(n.metadata!.name!))).toBe(false);
    const verdict = await finish('slicer: a daemon restart loses every VM', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a daemon that ignores tag filters, beside VMs made by hand', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }] });
    const { p, monitor } = s;
    p.sim.setFaults({ ignoreTagFilters: true });
    await handMadeVm(p, p.groups[0]!);
    await handMadeVm(p, p.groups[0]!);
    await eventually('the hand-made VMs to join', async () => (await p.nodes()).filter(isReady).length === 2);
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    await web.churn([3, 1], STEP);
    cleanups.push(await protectedPods(p, p.groups[0]!, monitor));
    await web.churn([4, 0], STEP);
    const verdict = await finish('slicer: a daemon that ignores tag filters', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a host out of RAM: its group backs off, the group on another host serves', async () => {
    const t0 = Date.now();
    s = await startScenario({
      groups: [
        { suffix: 'a', cpus: 2, ramGib: 4, min: 0, max: 4, lines: ['priority = 10'] },
        { suffix: 'b', cpus: 2, ramGib: 4, min: 0, max: 4, daemon: 1 },
      ],
      global: ['node-labels = faults-pool=shared'],
      flags: ['--expander=priority'],
    });
    const { p } = s;
    // Group a is preferred, but its host has room for two of its VMs only.
    p.sim.setFaults({ hostRamGib: 8 });
    const web = new Workload(p, { 'faults-pool': 'shared' }, '1500m');
    await web.create();
    await web.scale(4);
    expect(await web.settled(120_000)).toBe(true);
    const byGroup = (g: string) => p.sims.flatMap((x) => x.vms()).filter((v) => v.group === g).length;
    expect(byGroup(p.groups[0]!)).toBe(2);
    expect(byGroup(p.groups[1]!)).toBe(2);
    await web.churn([1, 3, 0], STEP);
    const verdict = await finish('slicer: a host out of RAM', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 300_000);

  it('the Slicer host’s clock is 2 minutes ahead', async () => {
    const t0 = Date.now();
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }],
      reconcileIntervalMs: 10_000,
    });
    const { p, monitor } = s;
    p.sim.setFaults({ clockOffsetMs: 120_000 });
    // Nodes that joined without our vm-id (the incumbent's): only creation times, corrected for both clocks, link
    // them to their VMs.
    await handMadeVm(p, p.groups[0]!);
    await handMadeVm(p, p.groups[0]!);
    const web = new Workload(p, p.groups[0]!, '1500m');
    await web.create();
    await web.churn([3, 1], STEP);
    cleanups.push(await protectedPods(p, p.groups[0]!, monitor));
    await web.churn([3, 0], STEP);
    const verdict = await finish('slicer: the host clock 2 minutes ahead', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);
});
