import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Secret } from '../../../src/config/secret.js';
import { createSlicerClient } from '../../../src/slicer/client.js';
import { MAX_REQUEST_LOG, startSimulator, type RunningSimulator } from '../../../src/simulator/server.js';

// The simulator's request log, which the end-to-end benchmark reads to time the autoscaler's Slicer calls: every
// request with its arrival time, duration and status, the VM a create made, never a body, and never more than
// MAX_REQUEST_LOG entries.

const TOKEN = 'sim-requests-token-9f8e';
const GIB = 1024 ** 3;

describe('simulator request log', () => {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('records each request in order, with the VM a create made, and serves the log at /_sim/requests', async () => {
    sim = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'x86', cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
    });
    const client = createSlicerClient({ url: sim.url, token: new Secret(TOKEN) });
    const before = Date.now();
    const vm = await client.createVm('x86', { tags: ['bench/op=1'], userdata: 'secret-looking-userdata' });
    await client.listVms('x86', { tag: 'bench/op=1' });
    await request(`${sim.url}/hostgroup/x86/nodes`, { method: 'GET' }); // no token: 401, logged too
    await client.close();

    const log = sim.requests();
    expect(log.map((r) => [r.method, r.path.split('?')[0], r.status])).toEqual([
      ['POST', '/hostgroup/x86/nodes', 201],
      ['GET', '/hostgroup/x86/nodes', 200],
      ['GET', '/hostgroup/x86/nodes', 401],
    ]);
    expect(log[0]!.hostname).toBe(vm.hostname);
    expect(log[1]!.hostname).toBeUndefined();
    expect(log[1]!.path).toContain('tag=bench');
    for (const r of log) {
      expect(r.at).toBeGreaterThanOrEqual(before);
      expect(r.ms).toBeGreaterThanOrEqual(0);
    }
    expect(JSON.stringify(log)).not.toContain('secret-looking-userdata');

    const served = await request(`${sim.url}/_sim/requests`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(served.statusCode).toBe(200);
    expect(((await served.body.json()) as unknown[]).slice(0, 3)).toEqual(log);
  });

  it('keeps only the latest MAX_REQUEST_LOG requests, oldest first', async () => {
    sim = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'x86', cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
    });
    // One batch of 100 more than the log holds; each batch is answered before the next is sent.
    for (let i = 0; i < MAX_REQUEST_LOG + 100; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => request(`${sim!.url}/healthz?n=${i + j}`).then((r) => r.body.dump())),
      );
    }
    const log = sim.requests();
    expect(log).toHaveLength(MAX_REQUEST_LOG);
    const numbers = log.map((r) => Number(/n=(\d+)/.exec(r.path)![1]));
    // The first batch went; within a batch answers may finish in any order, across batches the order holds.
    expect(new Set(numbers)).toEqual(new Set(Array.from({ length: MAX_REQUEST_LOG }, (_, k) => k + 100)));
    expect(Math.max(...numbers.slice(0, 100))).toBeLessThan(200);
    expect(Math.min(...numbers.slice(-100))).toBeGreaterThanOrEqual(MAX_REQUEST_LOG);
  });
});
