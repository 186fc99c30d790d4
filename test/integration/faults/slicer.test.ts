import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { ENDPOINTS } from '../../../src/simulator/faults.js';
import { createSlicerClient } from '../../../src/slicer/client.js';
import { buildUserdata } from '../../../src/slicer/userdata.js';
import { eventually, isReady } from '../helpers/kube.js';
import type { Product } from '../helpers/product.js';
import { finish, startScenario, STEP, type Scenario } from './harness.js';
import { pinFirstNode, protectedPods, workloads, type Placement, type Workload } from './workload.js';

// Fault suite, Slicer: the daemon errs, hangs, loses answers and VMs, ignores filters, runs out of RAM and keeps
// another time; every scenario mixes scale-ups and scale-downs and ends with the shared invariants.

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

  /** The usual body: a pinned first node, then `steps`, with a second batch of protected pods at the first fall. */
  async function mixed(
    sc: Scenario,
    where: Placement,
    steps: number[],
    beforeSteps?: (web: Workload) => Promise<void>,
  ): Promise<Workload> {
    const { web } = await workloads(sc.p, where);
    cleanups.push(await pinFirstNode(sc.p, where, sc.monitor, web, STEP));
    await beforeSteps?.(web);
    await web.churn(steps, {
      ...STEP,
      onFirstScaleDown: async () => void cleanups.push(await protectedPods(sc.p, where, sc.monitor, 'b')),
    });
    return web;
  }

  it('30% of calls answer 500, every call 150 ms late', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }] });
    const { p } = s;
    p.sim.setFaults({ errorRate: everyEndpoint(0.3), latencyMs: everyEndpoint(150), seed: 7 });
    await mixed(s, p.groups[0]!, [3, 1, 0]);
    const verdict = await finish('slicer: 30% 5xx with latency', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a create that hangs until the client gives up, then answers again', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 5 }] });
    const { p } = s;
    await mixed(s, p.groups[0]!, [3, 1, 0], async (web) => {
      const before = p.sim.vms().length;
      p.sim.setFaults({ hangCreate: true });
      await web.scale(3);
      await delay(8000);
      expect(p.sim.vms()).toHaveLength(before);
      // Creates answer again: the hanging requests are cut, and the retried creates go through.
      p.sim.setFaults({ hangCreate: false });
    });
    const verdict = await finish('slicer: a create that hangs', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a create that succeeds on Slicer after the client gave up on it', async () => {
    const t0 = Date.now();
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 4 }],
      reconcileIntervalMs: 10_000,
    });
    const { p } = s;
    await mixed(s, p.groups[0]!, [4, 1, 0], async (web) => {
      // An answer lost with its VM made at once: the retry finds it by its tag.
      p.sim.setFaults({ dropCreateAnswers: 1 });
      await web.churn([2], STEP);
      // Two whose VM the daemon makes 4 s after the client gave up, when the retry has already made another.
      p.sim.setFaults({ dropCreateAnswers: 2, droppedCreateVmAfterMs: 4000 });
    });
    const verdict = await finish('slicer: a create that succeeds after the client gave up', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a delete that answers 500 twice', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 5 }] });
    const { p } = s;
    await mixed(s, p.groups[0]!, [3, 1, 0], async () => {
      p.sim.setFaults({ failDeletes: 2 });
    });
    const verdict = await finish('slicer: a delete that 500s twice', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);

  it('a daemon restart loses every VM; new VMs reuse the hostnames', async () => {
    const t0 = Date.now();
    // The sweep every 10 s (5 min by default) removes Nodes whose VM is gone even when a protected pod holds
    // them (their drain is refused); NotReady ones without such pods go sooner, through --scale-down-unready-time.
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }],
      reconcileIntervalMs: 10_000,
    });
    const { p } = s;
    let before: string[] = [];
    await mixed(s, p.groups[0]!, [3, 1, 0], async () => {
      before = (await p.nodes()).map((n) => n.metadata!.name!);
      await p.sim.restart();
    });
    const verdict = await finish('slicer: a daemon restart loses every VM', s, t0);
    expect(verdict.violations).toEqual([]);
    // Settled: every Node of a lost VM is gone, and new VMs did take the lost ones' hostnames.
    const after = await p.nodes();
    expect(after.some((n) => before.includes(n.metadata!.name!))).toBe(false);
    const events = p.sim.events();
    const lost = new Set(events.filter((e) => e.kind === 'lost').map((e) => e.hostname));
    const restartedAt = Math.max(...events.filter((e) => e.kind === 'lost').map((e) => e.at));
    expect(events.some((e) => e.kind === 'created' && e.at > restartedAt && lost.has(e.hostname))).toBe(true);
  }, 240_000);

  it('a daemon that ignores tag filters, beside VMs made by hand', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }] });
    const { p } = s;
    p.sim.setFaults({ ignoreTagFilters: true });
    await handMadeVm(p, p.groups[0]!);
    await handMadeVm(p, p.groups[0]!);
    await eventually('the hand-made VMs to join', async () => (await p.nodes()).filter(isReady).length === 2);
    await mixed(s, p.groups[0]!, [3, 1, 0]);
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
    const web = await mixed(s, { 'faults-pool': 'shared' }, [4]);
    expect(await web.settled(90_000)).toBe(true);
    const vms = (g: string) => p.sims.flatMap((x) => x.vms()).filter((v) => v.group === g).length;
    expect(vms(p.groups[0]!)).toBe(2);
    expect(vms(p.groups[1]!)).toBeGreaterThanOrEqual(2);
    await web.churn([1, 0], STEP);
    const verdict = await finish('slicer: a host out of RAM', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 300_000);

  it('the Slicer host’s clock is 2 minutes ahead', async () => {
    const t0 = Date.now();
    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }],
      reconcileIntervalMs: 10_000,
    });
    const { p } = s;
    p.sim.setFaults({ clockOffsetMs: 120_000 });
    // Nodes that joined without our vm-id (the incumbent's): only creation times, corrected for both clocks, link
    // them to their VMs.
    await handMadeVm(p, p.groups[0]!);
    await handMadeVm(p, p.groups[0]!);
    await mixed(s, p.groups[0]!, [3, 1, 0]);
    const verdict = await finish('slicer: the host clock 2 minutes ahead', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);
});
