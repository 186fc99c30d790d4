import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/stack/ports.js';
import { eventually, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// A real worker process (`slicer-autoscaler worker`, as deployed) at --v=5, through a scale-up with a flaky Slicer
// (half the creates answer 500, so failures and retries are logged too) and a scale-down. Every line it writes is
// read back: JSON with a level, the Temporal runtime's own lines among them, and never a token or the API key.

const API_KEY = `temporal-api-key-${randomBytes(8).toString('hex')}`;

describe('worker logs', () => {
  const { core } = kubeClients();
  const cluster = `log-${randomBytes(2).toString('hex')}`;
  const group = `${cluster}-x86`;
  let product: Product;
  let proc: ChildProcess;
  let ns = '';
  let healthPort = 0;
  const stdout: string[] = [];
  const stderr: string[] = [];

  beforeAll(async () => {
    // No worker in this process: the one under test is the process started below.
    product = await startProduct({
      cluster,
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 2s'],
      joinDelayMs: 300,
      faults: { errorRate: { createVm: 0.5 }, seed: 7 },
      startWorker: false,
    });
    const { configPath } = product;
    ns = product.ns;
    healthPort = await freePort();
    // node itself with tsx's loader (not npx): the signal must reach the worker, not a wrapper.
    proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'worker',
        '--cloud-config',
        configPath,
        '--kubeconfig',
        inject('kubeconfigPath'),
        '--health-port',
        String(healthPort),
        '--temporal-metrics-port',
        '0',
        '--status-namespace',
        ns,
        '--scan-interval=1s',
        '--scale-down-delay-after-add=1s',
        '--v=5',
      ],
      {
        cwd: process.cwd(),
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          TEMPORAL_NAMESPACE: 'default',
          // Sent as a bearer header on every call (the dev server ignores it); plain, so TLS is off explicitly.
          TEMPORAL_API_KEY: API_KEY,
          TEMPORAL_TLS: 'false',
          TEMPORAL_CONFIG_FILE: join(dirname(configPath), 'no-such.toml'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    proc.stdout!.on('data', (d: Buffer) => stdout.push(d.toString()));
    proc.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    await eventually(
      'the worker process ready',
      async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok,
      90_000,
    );
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await product?.stop();
  });

  it('are JSON lines with levels, include the Temporal runtime, and never contain a secret', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'p' },
        spec: {
          nodeSelector: { 'slicer/hostgroup': group },
          containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '1200m', memory: '1Gi' } } }],
        },
      },
    });
    await eventually(
      'the pod Running on a new VM (creates fail half the time)',
      async () => (await core.readNamespacedPod({ name: 'p', namespace: ns })).status?.phase === 'Running',
      120_000,
    );
    await core.deleteNamespacedPod({ name: 'p', namespace: ns });
    await eventually(
      'the VM removed again',
      async () => (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items.length === 0,
      120_000,
    );
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    // SIGTERM, as Kubernetes stops a pod: the worker drains and exits cleanly.
    expect(await exited).toBe(0);

    const lines = stdout.join('').split('\n').filter(Boolean);
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as { level?: string; component?: string; msg?: string; sdkComponent?: string };
      } catch {
        throw new Error(`not a JSON log line: ${l.slice(0, 200)}`);
      }
    });
    expect(parsed.length).toBeGreaterThan(20);
    expect(parsed.every((l) => ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(l.level ?? ''))).toBe(
      true,
    );
    const levels = new Set(parsed.map((l) => l.level));
    expect(levels.has('info')).toBe(true);
    expect(levels.has('debug') || levels.has('trace')).toBe(true);
    // The Temporal runtime's lines (worker state, activity retries after the 500s) come through the same logger.
    const temporal = parsed.filter((l) => l.component === 'temporal');
    expect(temporal.length).toBeGreaterThan(0);
    expect(temporal.some((l) => l.level === 'warn' && /Activity failed|failed/i.test(l.msg ?? ''))).toBe(true);
    expect(parsed.some((l) => l.msg === 'evaluator running')).toBe(true);

    const everything = stdout.join('') + stderr.join('');
    for (const secret of [product.k3sToken, product.simToken, API_KEY]) expect(everything).not.toContain(secret);
    console.log(`[logs] ${lines.length} JSON lines (${temporal.length} from the Temporal runtime), no secret in any`);
  });
});
