import { createServer } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { createSlicerClient, type SlicerClient } from '../../../src/slicer/client.js';
import { SlicerError } from '../../../src/slicer/errors.js';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server.js';

// The client against the simulator over real HTTP on 127.0.0.1: every endpoint, every error class.

const TOKEN = 'sim-token-5f2a9c0e7d';
const GIB = 1024 ** 3;

describe('Slicer client <-> simulator contract', () => {
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
    client = createSlicerClient({
      url: sim.url,
      token: new Secret(TOKEN),
      headersTimeoutMs: 1500,
      bodyTimeoutMs: 1500,
    });
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });
  afterEach(() => {
    sim.setFaults({ errorRate: {}, latencyMs: {}, hangCreate: false, hostRamGib: undefined });
  });

  async function failure(p: Promise<unknown>): Promise<SlicerError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SlicerError);
    const e = err as SlicerError;
    expect(e.message).not.toContain(TOKEN);
    return e;
  }

  it('answers healthz without a token', async () => {
    const anonymous = createSlicerClient({ url: sim.url });
    await expect(anonymous.healthz()).resolves.toBeUndefined();
    await anonymous.close();
  });

  it('lists host groups, normalising arch', async () => {
    const groups = await client.listHostGroups();
    expect(groups).toEqual([
      { name: 'x86', cpus: 2, ramBytes: 4 * GIB, arch: 'amd64', gpuCount: 0, count: 0 },
      { name: 'arm', cpus: 4, ramBytes: 8 * GIB, arch: 'arm64', gpuCount: 0, count: 0 },
    ]);
  });

  it('creates VMs named <group>-<n>, reusing the lowest free number, with a bare IP', async () => {
    const a = await client.createVm('x86', { tags: ['op=a'] });
    const b = await client.createVm('x86', { tags: ['op=b'] });
    expect([a.hostname, b.hostname]).toEqual(['x86-1', 'x86-2']);
    expect(isIPv4(a.ip)).toBe(true);
    expect(await client.deleteVm('x86', 'x86-1')).toEqual({ deleted: true });
    const c = await client.createVm('x86', {});
    expect(c.hostname).toBe('x86-1');
    await client.deleteVm('x86', 'x86-1');
    await client.deleteVm('x86', 'x86-2');
  });

  it('lists VMs by exact tag and by tag prefix, and refuses both at once', async () => {
    await client.createVm('arm', { tags: ['slicer-autoscaler/op=w#0', 'cluster=a'] });
    await client.createVm('arm', { tags: ['slicer-autoscaler/op=w#1'] });
    expect((await client.listVms('arm', { tag: 'slicer-autoscaler/op=w#1' })).map((v) => v.hostname)).toEqual([
      'arm-2',
    ]);
    expect(await client.listVms('arm', { tagPrefix: 'slicer-autoscaler/op=w' })).toHaveLength(2);
    expect(await client.listVms('arm')).toHaveLength(2);
    expect((await failure(client.listVms('arm', { tag: 'a', tagPrefix: 'b' }))).kind).toBe('BadRequest');
    await client.deleteVm('arm', 'arm-1');
    await client.deleteVm('arm', 'arm-2');
  });

  it('treats deleting a VM that is gone as done', async () => {
    expect(await client.deleteVm('x86', 'x86-99')).toEqual({ deleted: false });
  });

  it('answers 400 for more CPU or RAM than the group has, final', async () => {
    const cpu = await failure(client.createVm('x86', { cpus: 3 }));
    expect(cpu).toMatchObject({ kind: 'BadRequest', status: 400, retryable: false });
    expect(cpu.message).toMatch(/POST \/hostgroup\/x86\/nodes: 400 requested 3 cpus exceeds/);
    expect(await failure(client.createVm('x86', { ramBytes: 5 * GIB }))).toMatchObject({ kind: 'BadRequest' });
  });

  it('answers 404 for an unknown group, final', async () => {
    expect(await failure(client.createVm('gpu', {}))).toMatchObject({
      kind: 'NotFound',
      status: 404,
      retryable: false,
    });
    expect(await failure(client.listVms('gpu'))).toMatchObject({ kind: 'NotFound' });
  });

  it('answers 401 without the right token, final, and never says the token', async () => {
    const wrong = createSlicerClient({ url: sim.url, token: new Secret('not-the-token') });
    const e = await failure(wrong.listHostGroups());
    expect(e).toMatchObject({ kind: 'Unauthorized', status: 401, retryable: false });
    expect(e.message).not.toContain('not-the-token');
    await wrong.close();
  });

  it('creates secrets once: 201, then 409 means it exists', async () => {
    expect(await client.createSecret('k3s-token', 'join-me')).toEqual({ created: true });
    expect(await client.createSecret('k3s-token', 'join-me')).toEqual({ created: false });
    const listed = await client.listSecrets();
    expect(listed).toEqual([expect.objectContaining({ name: 'k3s-token', size: 7, permissions: '0600' })]);
    expect(listed[0]!.modifiedAt).toMatch(/^\d{4}-/);
  });

  it('serves console logs and agent health', async () => {
    const vm = await client.createVm('x86', { userdata: '#!/bin/sh\necho hi\n', secrets: ['k3s-token'] });
    expect(await client.vmLogs(vm.hostname, 2)).toMatch(/k3s-agent/);
    expect(await client.vmHealth(vm.hostname)).toMatchObject({ hostname: vm.hostname, userdataRan: false });
    expect(await failure(client.vmLogs('nope-1', 5))).toMatchObject({ kind: 'NotFound' });
    await client.deleteVm('x86', vm.hostname);
  });

  it('marks 5xx retryable', async () => {
    sim.setFaults({ errorRate: { listHostGroups: 1 } });
    expect(await failure(client.listHostGroups())).toMatchObject({ kind: 'Server', status: 500, retryable: true });
  });

  it('reports a host out of RAM as a retryable server error saying so', async () => {
    sim.setFaults({ hostRamGib: 6 });
    const first = await client.createVm('x86', {});
    const e = await failure(client.createVm('x86', {}));
    expect(e).toMatchObject({ kind: 'Server', retryable: true });
    expect(e.message).toMatch(/insufficient memory/);
    await client.deleteVm('x86', first.hostname);
  });

  it('times out a slow answer, retryable', async () => {
    sim.setFaults({ latencyMs: { listSecrets: 3000 } });
    expect(await failure(client.listSecrets())).toMatchObject({ kind: 'Timeout', retryable: true });
  });

  it('gives up on a create that hangs, and stops waiting at once when aborted', async () => {
    sim.setFaults({ hangCreate: true });
    expect(await failure(client.createVm('x86', {}))).toMatchObject({ kind: 'Timeout' });
    const controller = new AbortController();
    const pending = client.createVm('x86', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1400);
    expect(sim.vms().filter((v) => v.group === 'x86')).toHaveLength(0);
  });

  it('loses every VM on a daemon restart', async () => {
    await client.createVm('arm', {});
    await sim.restart();
    expect(await client.listVms('arm')).toEqual([]);
  });

  it('refuses a malformed response shape with InvalidResponse, naming the field', async () => {
    const server = createServer((_req, res) => res.end(JSON.stringify([{ name: 'x86', cpus: 2 }])));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const bad = createSlicerClient({ url: `http://127.0.0.1:${port}`, token: new Secret(TOKEN) });
    const e = await failure(bad.listHostGroups());
    expect(e).toMatchObject({ kind: 'InvalidResponse', retryable: false });
    expect(e.message).toMatch(/neither ram_bytes nor ram_gb/);
    await bad.close();
    server.close();
  });
});
