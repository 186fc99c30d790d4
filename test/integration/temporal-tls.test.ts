import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseFlags } from '../../src/config/flags.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { freePort } from '../../src/stack/ports.js';
import { loadTemporalTarget } from '../../src/temporal-connection.js';
import { autoscalerWorkflowId, taskQueueFor } from '../../src/shared/ids.js';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import { eventually } from './helpers/kube.js';

// Temporal behind TLS, as in production: a TLS-terminating proxy in front of the dev server that demands a client
// certificate from our CA (TCP-level, so gRPC's HTTP/2 passes through; ALPN h2 as gRPC requires). The worker and
// the CLI reach it through the temporal CLI's TEMPORAL_TLS_* variables; a client without a certificate is refused.
// Stopping the proxy makes Temporal unreachable: /healthz must then fail, and recover with it.

const execFileAsync = promisify(execFile);
const GIB = 1024 ** 3;

function openssl(dir: string, ...args: string[]): Promise<unknown> {
  return execFileAsync('openssl', args, { cwd: dir });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all made here. */
async function makeCertificates(
  dir: string,
): Promise<Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>> {
  mkdirSync(dir, { recursive: true });
  await openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  const sign = async (name: string, subject: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    await openssl(
      dir,
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    await openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  await sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await sign('client', '/CN=slicer-autoscaler', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  };
}

/** Terminates TLS (client certificate required) and pipes the bytes to the plain dev server. */
class TlsProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  refused = 0;

  constructor(
    readonly port: number,
    private readonly upstream: { host: string; port: number },
    private readonly tlsFiles: { serverCert: string; serverKey: string; ca: string },
    private readonly requireClientCert = true,
  ) {}

  async start(): Promise<void> {
    this.server = createServer(
      {
        cert: readFileSync(this.tlsFiles.serverCert),
        key: readFileSync(this.tlsFiles.serverKey),
        ca: readFileSync(this.tlsFiles.ca),
        requestCert: this.requireClientCert,
        rejectUnauthorized: this.requireClientCert,
        ALPNProtocols: ['h2'],
      },
      (client: TLSSocket) => {
        const up = connect(this.upstream.port, this.upstream.host);
        for (const s of [client, up]) {
          this.sockets.add(s);
          s.on('close', () => this.sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            up.destroy();
          });
        }
        client.pipe(up).pipe(client);
      },
    );
    this.server.on('tlsClientError', () => (this.refused += 1));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Stops listening and cuts every open connection: Temporal is unreachable through it. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.server = undefined;
  }
}

describe('Temporal over TLS and mTLS through a proxy that demands a client certificate', () => {
  const cluster = `tls-${randomBytes(2).toString('hex')}`;
  const group = `${cluster}-x86`;
  const slicerToken = `slicer-tls-${randomBytes(6).toString('hex')}`;
  let certs: Awaited<ReturnType<typeof makeCertificates>>;
  let proxy: TlsProxy;
  let sim: RunningSimulator;
  let worker: RunningWorker | undefined;
  let configPath = '';
  let env: Record<string, string> = {};
  let direct: Connection;

  beforeAll(async () => {
    const dir = join(inject('stackDir'), cluster);
    certs = await makeCertificates(join(dir, 'pki'));
    const [host, port] = inject('temporalAddress').split(':') as [string, string];
    proxy = new TlsProxy(await freePort(), { host, port: Number(port) }, certs);
    await proxy.start();
    // The worker scales nothing here; it only needs a Slicer to be configured against.
    sim = await startSimulator({
      token: slicerToken,
      hostGroups: [{ name: group, cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
    });
    configPath = join(dir, 'cloud-config.ini');
    writeFileSync(
      configPath,
      [
        '[global]',
        'k3s-url = https://127.0.0.1:6443',
        `k3s-token = K10-tls-${randomBytes(6).toString('hex')}`,
        `cluster-name = ${cluster}`,
        'default-min-size = 0',
        `[nodegroup "${group}"]`,
        `slicer-url = ${sim.url}`,
        `slicer-token = ${slicerToken}`,
        '',
      ].join('\n'),
    );
    env = {
      TEMPORAL_CONFIG_FILE: join(dir, 'no-such-temporal.toml'),
      TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}`,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
    };
    direct = await Connection.connect({ address: inject('temporalAddress') });
  });

  afterAll(async () => {
    await new Client({ connection: direct }).workflow
      .getHandle(autoscalerWorkflowId(cluster))
      .terminate('test over')
      .catch(() => undefined);
    await direct?.close();
    await worker?.shutdown();
    await proxy?.stop();
    await sim?.stop();
  });

  it('refuses a client without a certificate, at the TLS handshake', async () => {
    const before = proxy.refused;
    await expect(
      Connection.connect({
        address: `127.0.0.1:${proxy.port}`,
        tls: { serverRootCACertificate: readFileSync(certs.ca) },
        connectTimeout: 5000,
      }),
    ).rejects.toThrow();
    expect(proxy.refused).toBeGreaterThan(before);
  });

  it('server-only TLS with our CA (and an API key, as Temporal Cloud takes it) works; without our CA it does not', async () => {
    const [host, port] = inject('temporalAddress').split(':') as [string, string];
    const plainTls = new TlsProxy(await freePort(), { host, port: Number(port) }, certs, false);
    await plainTls.start();
    try {
      const target = loadTemporalTarget(
        {},
        {
          TEMPORAL_CONFIG_FILE: env['TEMPORAL_CONFIG_FILE']!,
          TEMPORAL_ADDRESS: `127.0.0.1:${plainTls.port}`,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
          TEMPORAL_API_KEY: 'api-key-the-dev-server-ignores',
        },
      );
      const c = await Connection.connect({ ...target.connection, connectTimeout: 5000 });
      const info = await c.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeDefined();
      await c.close();
      // The system CAs do not know our CA: the server certificate is refused.
      const untrusted = loadTemporalTarget(
        {},
        {
          TEMPORAL_CONFIG_FILE: env['TEMPORAL_CONFIG_FILE']!,
          TEMPORAL_ADDRESS: `127.0.0.1:${plainTls.port}`,
          TEMPORAL_TLS: 'true',
        },
      );
      await expect(Connection.connect({ ...untrusted.connection, connectTimeout: 3000 })).rejects.toThrow();
    } finally {
      await plainTls.stop();
    }
  });

  it('runs the worker over mTLS from TEMPORAL_TLS_* variables; its evaluator starts on the cluster queue', async () => {
    const target = loadTemporalTarget({}, env);
    expect(target.describe()).toBe(
      `Temporal 127.0.0.1:${proxy.port}, namespace default, TLS on (server CA given, mTLS client certificate), API key not set`,
    );
    const healthPort = await freePort();
    worker = await startWorker({
      configPath,
      flags: parseFlags(['--scan-interval=1s']).options,
      temporalAddress: target.connection.address,
      namespace: target.namespace,
      temporalConnection: target.connection,
      kubeconfig: inject('kubeconfigPath'),
      healthPort,
      probeIntervalMs: 500,
      unreachableAfterMs: 3000,
      log: () => undefined,
    });
    const d = await eventually('the evaluator running', async () => {
      const desc = await new Client({ connection: direct }).workflow
        .getHandle(autoscalerWorkflowId(cluster))
        .describe();
      return desc.status.name === 'RUNNING' ? desc : undefined;
    });
    expect(d.taskQueue).toBe(taskQueueFor(cluster));
    // The evaluator makes progress, so the worker really polls through the proxy.
    await eventually('an evaluation recorded', async () => {
      const h = await new Client({ connection: direct }).workflow
        .getHandle(autoscalerWorkflowId(cluster))
        .fetchHistory();
      return (h.events ?? []).some((e) => e.activityTaskCompletedEventAttributes);
    });
  });

  it('the CLI reaches the evaluator over mTLS with the same variables', async () => {
    const { stdout } = await execFileAsync('npx', ['tsx', 'src/cli/main.ts', 'status', '--cluster', cluster], {
      env: { ...process.env, ...env },
      cwd: process.cwd(),
    });
    expect(JSON.parse(stdout)).toMatchObject({ groups: { [group]: expect.objectContaining({ min: 0 }) } });
    // Without the client certificate the same command fails and says so.
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noCert } = env;
    const refused = await execFileAsync('npx', ['tsx', 'src/cli/main.ts', 'status', '--cluster', cluster], {
      env: { ...process.env, ...noCert },
      cwd: process.cwd(),
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/^error: /m);
  });

  it('/healthz fails while Temporal is unreachable, and recovers with it', async () => {
    const url = `http://127.0.0.1:${worker!.healthPort}/healthz`;
    const health = async () => {
      const res = await fetch(url);
      return { status: res.status, body: (await res.json()) as { dependencies: { name: string; ok: boolean }[] } };
    };
    expect((await health()).status).toBe(200);
    await proxy.stop();
    const down = await eventually(
      '/healthz 503',
      async () => {
        const h = await health();
        return h.status === 503 ? h : undefined;
      },
      30_000,
    );
    expect(down.body.dependencies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'temporal', ok: false }),
        expect.objectContaining({ name: 'apiserver', ok: true }),
      ]),
    );
    await proxy.start();
    await eventually('/healthz 200 again', async () => (await health()).status === 200, 60_000);
  });
});
