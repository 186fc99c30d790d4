import { connect, isIPv4 } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Secret } from '../../../src/config/secret.js';
import { createSlicerClient, type SlicerClient } from '../../../src/slicer/client.js';
import {
  parseHostGroupSpec,
  parseHostGroupSpecs,
  startSimulator,
  type RunningSimulator,
} from '../../../src/simulator/server.js';

// The simulator's own edges over real HTTP: bad requests get 4xx (never 500), nothing is read before auth, and
// it keeps behaving past the sizes a quick test reaches.

const TOKEN = 'sim-edge-token-1b2c3d';
const GIB = 1024 ** 3;
const auth = { authorization: `Bearer ${TOKEN}` };

describe('simulator edges', () => {
  let sim: RunningSimulator;
  let client: SlicerClient;

  beforeAll(async () => {
    sim = await startSimulator({
      token: TOKEN,
      hostGroups: [
        { name: 'x86', cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' },
        { name: 'arm', cpus: 4, ramBytes: 8 * GIB, arch: 'aarch64' },
      ],
    });
    client = createSlicerClient({ url: sim.url, token: new Secret(TOKEN) });
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });

  it('answers malformed percent-encoding in the path with 400, not 500', async () => {
    for (const path of ['/hostgroup/%E0%A4%A/nodes', '/hostgroup/x86/nodes/%zz', '/vm/%/logs']) {
      const method = path.endsWith('%zz') ? 'DELETE' : 'GET';
      const res = await request(`${sim.url}${path}`, { method, headers: auth });
      expect(res.statusCode, path).toBe(400);
      expect(await res.body.json()).toEqual({ error: 'malformed percent-encoding in the path' });
    }
  });

  it('answers 401 to an unauthenticated request without reading its body', async () => {
    const socket = connect(sim.port, '127.0.0.1');
    const answer = new Promise<string>((resolve, reject) => {
      let got = '';
      socket.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.includes('\r\n\r\n')) resolve(got);
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer while the body was still coming: ${got}`)), 3000);
    });
    // Announce 100 MiB, send a few bytes, and never the rest: the answer must come anyway.
    socket.write(
      'POST /hostgroup/x86/nodes HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"userdata":"',
    );
    const head = await answer;
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 401 /);
    expect(sim.vms()).toHaveLength(0);
  });

  it('refuses a body over 1 MiB with 413, even with the token', async () => {
    const res = await request(`${sim.url}/secrets`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', data: 'A'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
  });

  it('hands out valid, distinct IPv4 addresses past 254 VMs per group', async () => {
    const ips: string[] = [];
    for (let i = 0; i < 300; i++) ips.push((await client.createVm('x86', {})).ip);
    ips.push((await client.createVm('arm', {})).ip);
    expect(ips.filter((ip) => !isIPv4(ip))).toEqual([]);
    expect(new Set(ips).size).toBe(ips.length);
    expect(ips.filter((ip) => /\.(0|255)$/.test(ip))).toEqual([]);
    expect((await client.listVms('x86')).find((v) => v.hostname === 'x86-300')!.ip).toBe(ips[299]);
    await sim.restart();
  }, 60_000);

  describe('ignoreTagFilters: a daemon that ignores tag and tag_prefix, as older Slicer does', () => {
    it('returns every VM for a tag filter, set at run time through POST /_sim/faults', async () => {
      await client.createVm('arm', { tags: ['slicer-autoscaler/op=a#0'] });
      await client.createVm('arm', { tags: ['slicer-autoscaler/op=b#0'] });
      await client.createVm('x86', { tags: ['someone-else'] });
      expect(await client.listVms('arm', { tag: 'slicer-autoscaler/op=a#0' })).toHaveLength(1);

      const res = await request(`${sim.url}/_sim/faults`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ ignoreTagFilters: true }),
      });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toMatchObject({ ignoreTagFilters: true });

      expect((await client.listVms('arm', { tag: 'slicer-autoscaler/op=a#0' })).map((v) => v.hostname)).toEqual([
        'arm-1',
        'arm-2',
      ]);
      expect(await client.listVms('arm', { tagPrefix: 'nothing-has-this' })).toHaveLength(2);
      const all = await request(`${sim.url}/nodes?tag=someone-else`, { headers: auth });
      expect(((await all.body.json()) as unknown[]).length).toBe(3);

      sim.setFaults({ ignoreTagFilters: false });
      expect(await client.listVms('arm', { tag: 'slicer-autoscaler/op=a#0' })).toHaveLength(1);
      await sim.restart();
    });

    it('can start with the switch on', async () => {
      const old = await startSimulator({
        token: TOKEN,
        hostGroups: [{ name: 'g', cpus: 1, ramBytes: GIB, arch: 'x86_64' }],
        faults: { ignoreTagFilters: true },
      });
      const c = createSlicerClient({ url: old.url, token: new Secret(TOKEN) });
      await c.createVm('g', { tags: ['t1'] });
      await c.createVm('g', { tags: ['t2'] });
      expect(await c.listVms('g', { tag: 't1' })).toHaveLength(2);
      await c.close();
      await old.stop();
    });
  });

  describe('PATCH /secrets/{name}', () => {
    const patch = (name: string, body: unknown, headers: Record<string, string> = auth) =>
      request(`${sim.url}/secrets/${name}`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('updates the data of an existing secret (200) and its modification time', async () => {
      expect(await client.createSecret('rotating', 'old-join-token')).toEqual({ created: true });
      const before = (await client.listSecrets()).find((s) => s.name === 'rotating')!;
      await new Promise((r) => setTimeout(r, 5));
      const res = await patch('rotating', { data: Buffer.from('new-join-token-longer').toString('base64') });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      expect(sim.secret('rotating')).toBe('new-join-token-longer');
      const after = (await client.listSecrets()).find((s) => s.name === 'rotating')!;
      expect(after.size).toBe('new-join-token-longer'.length);
      expect(after.modifiedAt! > before.modifiedAt!).toBe(true);
    });

    it('answers 404 for a secret that does not exist, 400 for bad base64, 401 without the token', async () => {
      const missing = await patch('nope', { data: 'YQ==' });
      expect(missing.statusCode).toBe(404);
      await missing.body.dump();
      const bad = await patch('rotating', { data: 'not base64!' });
      expect(bad.statusCode).toBe(400);
      await bad.body.dump();
      const anonymous = await patch('rotating', { data: 'YQ==' }, {});
      expect(anonymous.statusCode).toBe(401);
      await anonymous.body.dump();
    });
  });
});

describe('host group specs and start-up', () => {
  it.each([
    ['x:0:0', '--hostgroup x:0:0: CPUS must be a whole number from 1 to 1024'],
    ['x:2:0', '--hostgroup x:2:0: RAM_GIB must be more than 0 and at most 16384'],
    ['x:4:8:mips', '--hostgroup x:4:8:mips: ARCH must be x86_64, amd64, aarch64 or arm64'],
    ['X_86:4:8', '--hostgroup X_86:4:8: NAME must be lowercase letters, digits and dashes, like k3s-agents-1'],
    ['x:4', '--hostgroup x:4: expected NAME:CPUS:RAM_GIB[:ARCH], like k3s-agents-1:2:4:x86_64'],
  ])('refuses %s', (spec, message) => {
    expect(() => parseHostGroupSpec(spec)).toThrow(message);
  });

  it('accepts the four arch spellings', () => {
    expect(['x86_64', 'amd64', 'aarch64', 'arm64'].map((a) => parseHostGroupSpec(`g:1:0.5:${a}`).arch)).toEqual([
      'x86_64',
      'amd64',
      'aarch64',
      'arm64',
    ]);
  });

  it('refuses the same host group twice', () => {
    expect(() => parseHostGroupSpecs(['a:1:1', 'b:1:1', 'a:2:2'])).toThrow(
      '--hostgroup a is given twice; give each host group once',
    );
  });

  it('says which port is in use instead of failing with a stack trace', async () => {
    const first = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'g', cpus: 1, ramBytes: GIB, arch: 'x86_64' }],
    });
    await expect(
      startSimulator({
        port: first.port,
        token: TOKEN,
        hostGroups: [{ name: 'g', cpus: 1, ramBytes: GIB, arch: 'x86_64' }],
      }),
    ).rejects.toThrow(`127.0.0.1:${first.port} is already in use; choose another --port, or 0 for a free one`);
    await first.stop();
  });
});
