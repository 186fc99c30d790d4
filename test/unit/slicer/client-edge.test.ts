import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlicerVmProvider } from '../../../src/activities/slicer-provider.js';
import { parseConfig } from '../../../src/config/load.js';
import { Secret } from '../../../src/config/secret.js';
import {
  CONSOLE_TAIL_MAX_BYTES,
  ERROR_DETAIL_MAX_CHARS,
  createSlicerClient,
  trustedCas,
} from '../../../src/slicer/client.js';
import { SlicerError } from '../../../src/slicer/errors.js';
import { startSimulator } from '../../../src/simulator/server.js';

const TOKEN = 'slicer-api-token-7e3b9d1c';
const K3S = 'K10aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55::server:join-secret-9f';
const GIB = 1024 ** 3;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function failure(p: Promise<unknown>): Promise<SlicerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SlicerError);
  return err as SlicerError;
}

describe('Slicer error bodies become short, scrubbed messages', () => {
  it(`keeps at most ${'ERROR_DETAIL_MAX_CHARS'} characters of a long JSON error, without tokens`, async () => {
    const long =
      `create failed for request with Authorization: Bearer ${TOKEN}; token=${K3S} password=hunter2 ` +
      'x'.repeat(20_000);
    const s = await serve((_req, res) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: long }));
    });
    const client = createSlicerClient({ url: s.url, token: new Secret(TOKEN) });
    const e = await failure(client.listHostGroups());
    expect(
      e.message.startsWith('GET /hostgroup: 500 create failed for request with Authorization: Bearer [redacted]'),
    ).toBe(true);
    expect(e.message.length).toBeLessThanOrEqual('GET /hostgroup: 500 '.length + ERROR_DETAIL_MAX_CHARS);
    expect(e.message).not.toMatch(/7e3b9d1c|aa55aa55|join-secret|hunter2/);
    await client.close();
    s.close();
  });

  it('does not read a huge error body to its end', async () => {
    let written = 0;
    const s = await serve((_req, res) => {
      res.statusCode = 502;
      res.setHeader('content-type', 'text/html');
      // 64 MiB of HTML from a proxy: the client must stop long before.
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => undefined);
      pump();
    });
    const client = createSlicerClient({ url: s.url, token: new Secret(TOKEN) });
    const e = await failure(client.listHostGroups());
    expect(e).toMatchObject({ kind: 'Server', status: 502 });
    expect(e.message.length).toBeLessThanOrEqual('GET /hostgroup: 502 '.length + ERROR_DETAIL_MAX_CHARS);
    expect(written).toBeLessThan(64 * 1024 * 1024);
    await client.close();
    s.close();
  });

  it('scrubs the known secrets even when they match no pattern', async () => {
    const s = await serve((_req, res) => {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: 'bad secret value plainsecretvalue in request' }));
    });
    const client = createSlicerClient({
      url: s.url,
      token: new Secret(TOKEN),
      redact: [new Secret('plainsecretvalue')],
    });
    const e = await failure(client.createSecret('k3s-token', 'plainsecretvalue'));
    expect(e.message).toBe('POST /secrets: 400 bad secret value [redacted] in request');
    await client.close();
    s.close();
  });
});

describe('console tails are bounded and scrubbed', () => {
  it(`keeps the last ${'CONSOLE_TAIL_MAX_BYTES'} bytes, whole lines, without tokens`, async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `[ ${i}.000000] boot line ${i} ${'y'.repeat(40)}`);
    lines.push(
      `+ export K3S_TOKEN=${K3S}`,
      `curl -H "Authorization: Bearer ${TOKEN}" https://x`,
      'k3s-agent: waiting to join',
    );
    const s = await serve((_req, res) =>
      res.end(JSON.stringify({ hostname: 'g-1', lines: 0, content: lines.join('\n') })),
    );
    const client = createSlicerClient({ url: s.url, token: new Secret(TOKEN), redact: [new Secret(K3S)] });
    const tail = await client.vmLogs('g-1', 0);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(CONSOLE_TAIL_MAX_BYTES);
    expect(tail.endsWith('k3s-agent: waiting to join')).toBe(true);
    expect(tail.split('\n')[0]).toMatch(/^\[ \d+\.000000\] boot line \d+ y+$/);
    expect(tail).toContain('export K3S_TOKEN=[redacted]');
    expect(tail).not.toMatch(/aa55aa55|join-secret|7e3b9d1c/);
    await client.close();
    s.close();
  });
});

describe('a rotated k3s token reaches Slicer', () => {
  it('upsertSecret creates, and on 409 updates with PATCH /secrets/{name}', async () => {
    const sim = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'g', cpus: 1, ramBytes: GIB, arch: 'x86_64' }],
    });
    const client = createSlicerClient({ url: sim.url, token: new Secret(TOKEN) });
    expect(await client.upsertSecret('k3s-token', 'first')).toEqual({ created: true });
    expect(await client.upsertSecret('k3s-token', 'second-rotated')).toEqual({ created: false });
    expect(sim.secret('k3s-token')).toBe('second-rotated');
    expect(await client.updateSecret('k3s-token', 'third')).toEqual({ updated: true });
    expect(await client.updateSecret('missing', 'x')).toEqual({ updated: false });
    await client.close();
    await sim.stop();
  });

  it('the VM provider puts the current token in place before the first VM of a daemon', async () => {
    const sim = await startSimulator({
      token: TOKEN,
      hostGroups: [{ name: 'g', cpus: 1, ramBytes: GIB, arch: 'x86_64' }],
    });
    // The daemon still holds the token of before the rotation.
    const old = createSlicerClient({ url: sim.url, token: new Secret(TOKEN) });
    await old.createSecret('k3s-token', 'K10old::server:before-rotation');
    await old.close();
    const config = parseConfig(
      `[global]\nk3s-url = https://10.0.0.1:6443\nk3s-token = ${K3S}\n[nodegroup "g"]\nslicer-url = ${sim.url}\nslicer-token = ${TOKEN}\n`,
    );
    const vms = createSlicerVmProvider(config);
    await vms.createVm('g', { tags: ['slicer-autoscaler/op=t#0'] });
    expect(sim.secret('k3s-token')).toBe(K3S);
    await vms.close();
    await sim.stop();
  });
});

describe('ca-bundle adds to the trusted roots instead of replacing them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ca-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  /** A CA and a server certificate for 127.0.0.1 signed by it. */
  function pki(name: string): { ca: string; key: string; cert: string } {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
      '-subj',
      `/CN=${name} test root`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    openssl(
      'req',
      '-x509',
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-addext',
      'basicConstraints=CA:FALSE',
    );
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { ca: join(dir, `${name}-ca.pem`), key: read(`${name}.key`), cert: read(`${name}.pem`) };
  }
  const servers: { close(): void }[] = [];
  let system: ReturnType<typeof pki>;
  let bundle: ReturnType<typeof pki>;
  let systemUrl: string;
  let bundleUrl: string;

  beforeAll(async () => {
    system = pki('system');
    bundle = pki('bundle');
    const start = async (p: { key: string; cert: string }) => {
      const server = createHttpsServer({ key: p.key, cert: p.cert }, (_req, res) => res.end('OK'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    systemUrl = await start(system);
    bundleUrl = await start(bundle);
  }, 30_000);
  afterAll(() => servers.forEach((s) => s.close()));

  it('trusts the bundle CA and keeps every public root', () => {
    const cas = trustedCas(readFileSync(bundle.ca, 'utf8'));
    expect(cas).toEqual(expect.arrayContaining([...rootCertificates]));
    expect(cas).toContain(readFileSync(bundle.ca, 'utf8'));
  });

  it('reaches a server signed by the bundle CA', async () => {
    const client = createSlicerClient({ url: bundleUrl, caBundlePath: bundle.ca });
    await expect(client.healthz()).resolves.toBeUndefined();
    await client.close();
    const without = createSlicerClient({ url: bundleUrl });
    expect((await failure(without.healthz())).kind).toBe('Network');
    await without.close();
  });

  it('still trusts the roots the process trusts (NODE_EXTRA_CA_CERTS standing in for the system store)', async () => {
    // A separate process: Node reads NODE_EXTRA_CA_CERTS only at start-up.
    const script = join(dir, 'probe.mts');
    const clientPath = new URL('../../../src/slicer/client.ts', import.meta.url).pathname;
    writeFileSync(
      script,
      `import { createSlicerClient } from ${JSON.stringify(clientPath)};
const results = [];
for (const url of process.argv.slice(2)) {
  const c = createSlicerClient({ url, caBundlePath: ${JSON.stringify(bundle.ca)} });
  results.push(await c.healthz().then(() => 'ok', (e) => e.message));
  await c.close();
}
console.log(JSON.stringify(results));
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, systemUrl, bundleUrl], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: system.ca },
      timeout: 25_000,
    });
    expect(JSON.parse(stdout)).toEqual(['ok', 'ok']);
  }, 30_000);
});
