import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Secret } from '../../../src/config/secret.js';
import { createSlicerClient, type SlicerClient } from '../../../src/slicer/client.js';
import { SlicerError } from '../../../src/slicer/errors.js';
import type { ClusterJoiner } from '../../../src/simulator/join.js';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server.js';

// The simulator faults the fault suite needs, over real HTTP with our own client: deletes that fail a few times,
// creates whose answer is lost while the daemon makes the VM anyway (at once or later), a host clock set apart,
// and the event log the suite's invariants are checked against.

const TOKEN = 'sim-faults-token-9f8e7d';
const GIB = 1024 ** 3;

async function failure(p: Promise<unknown>): Promise<SlicerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SlicerError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('simulator faults for the fault suite', () => {
  let sim: RunningSimulator;
  let client: SlicerClient;

  beforeAll(async () => {
    sim = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'x86', cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
    });
    client = createSlicerClient({ url: sim.url, token: new Secret(TOKEN) });
  });
  afterEach(async () => {
    sim.setFaults({ failDeletes: 0, dropCreateAnswers: 0, droppedCreateVmAfterMs: 0, clockOffsetMs: 0 });
    await sim.restart();
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });

  it('fails the next N deletes with a retryable 500, leaving the VM, then deletes', async () => {
    const vm = await client.createVm('x86', {});
    sim.setFaults({ failDeletes: 2 });
    for (let i = 0; i < 2; i++)
      expect(await failure(client.deleteVm('x86', vm.hostname))).toMatchObject({ kind: 'Server', retryable: true });
    expect(sim.vms().map((v) => v.hostname)).toEqual([vm.hostname]);
    expect(await client.deleteVm('x86', vm.hostname)).toEqual({ deleted: true });
    expect(sim.vms()).toEqual([]);
  });

  it('cuts the connection of a create whose answer is dropped, and still makes the VM', async () => {
    sim.setFaults({ dropCreateAnswers: 1 });
    expect(await failure(client.createVm('x86', { tags: ['op#0'] }))).toMatchObject({
      kind: 'Network',
      retryable: true,
    });
    expect(sim.vms()).toMatchObject([{ hostname: 'x86-1', tags: ['op#0'] }]);
    // Only the next one: the count went down to 0.
    expect((await client.createVm('x86', {})).hostname).toBe('x86-2');
  });

  it('makes the VM of a dropped create later when the daemon is slow, after the client gave up', async () => {
    sim.setFaults({ dropCreateAnswers: 1, droppedCreateVmAfterMs: 300 });
    await failure(client.createVm('x86', { tags: ['late#0'] }));
    expect(await client.listVms('x86', { tag: 'late#0' })).toEqual([]);
    await delay(600);
    expect((await client.listVms('x86', { tag: 'late#0' })).map((v) => v.hostname)).toEqual(['x86-1']);
  });

  it('shifts created_at and the Date header by the host clock offset', async () => {
    sim.setFaults({ clockOffsetMs: 120_000 });
    const before = Date.now();
    await client.createVm('x86', {});
    const [vm] = await client.listVms('x86');
    const createdAt = Date.parse(vm!.createdAt!);
    expect(createdAt - before).toBeGreaterThanOrEqual(119_000);
    expect(createdAt - before).toBeLessThan(125_000);
    // The Date header has one-second resolution.
    expect(Math.abs(client.clockSkewMs()! - 120_000)).toBeLessThan(1500);
  });

  it('logs every VM created, deleted and lost, with its tags, in order, also over GET /_sim/events', async () => {
    const start = sim.events().length;
    const a = await client.createVm('x86', { tags: ['a'] });
    const b = await client.createVm('x86', { tags: ['b'] });
    await client.deleteVm('x86', a.hostname);
    await sim.restart();
    const log = sim.events().slice(start);
    expect(log.map((e) => [e.kind, e.hostname, e.tags[0]])).toEqual([
      ['created', a.hostname, 'a'],
      ['created', b.hostname, 'b'],
      ['deleted', a.hostname, 'a'],
      ['lost', b.hostname, 'b'],
    ]);
    expect(log.map((e) => e.seq)).toEqual([...log.map((e) => e.seq)].sort((x, y) => x - y));
    expect(sim.eventsDropped()).toBe(0);
    const res = await request(`${sim.url}/_sim/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.body.json()) as { events: { kind: string }[]; dropped: number };
    expect(body.events.slice(start).map((e) => e.kind)).toEqual(['created', 'created', 'deleted', 'lost']);
    expect(body.dropped).toBe(0);
  });

  it('takes the new faults through POST /_sim/faults and refuses bad values naming the field', async () => {
    const post = (body: unknown) =>
      request(`${sim.url}/_sim/faults`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({ failDeletes: 3, clockOffsetMs: -5000 });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.json()).toMatchObject({ failDeletes: 3, clockOffsetMs: -5000 });
    const bad = await post({ dropCreateAnswers: -1 });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: string }).error).toMatch(/^faults: dropCreateAnswers:/);
  });
});

describe('simulator join', () => {
  it('leaves the Node of a VM deleted while its agent was registering NotReady, as k3s would', async () => {
    let registered: (name: string) => void = () => undefined;
    const stopped: string[] = [];
    const joiner = {
      join: () => new Promise<string>((resolve) => (registered = resolve)),
      stop: async (name: string) => void stopped.push(name),
    } as unknown as ClusterJoiner;
    const sim = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'x86', cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
      joiner,
      joinDelayMs: 1,
    });
    const client = createSlicerClient({ url: sim.url, token: new Secret(TOKEN) });
    try {
      const vm = await client.createVm('x86', {});
      await delay(50); // the join has begun and is waiting on the apiserver
      await client.deleteVm('x86', vm.hostname);
      registered('x86-1-abcd');
      await delay(20);
      expect(stopped).toEqual(['x86-1-abcd']);
    } finally {
      await client.close();
      await sim.stop();
    }
  });
});
