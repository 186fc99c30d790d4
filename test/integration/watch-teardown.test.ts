import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseFlags } from '../../src/config/flags.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import { eventually, freshNamespace, kubeClients } from './helpers/kube.js';

// The demo's teardown used to end with a WorkflowNotFoundError stack trace: the evaluator was terminated while its
// watch activity ran on, and the watch's next signal failed the activity, which the worker logs with the stack.
// The watch now ends quietly when the evaluator it feeds is gone. This file installs its own Runtime logger to see
// what the worker logs, so it does not use helpers/temporal.ts (which installs one too).

const entries: LogEntry[] = [];
Runtime.install({ logger: new DefaultLogger('INFO', (e) => entries.push(e)) });

describe('the watch activity when its evaluator is gone', () => {
  const { core } = kubeClients();
  const cluster = `watch-${randomBytes(2).toString('hex')}`;
  let sim: RunningSimulator;
  let worker: RunningWorker;
  let connection: Connection;
  let ns = '';

  beforeAll(async () => {
    const token = randomBytes(8).toString('hex');
    sim = await startSimulator({
      token,
      hostGroups: [{ name: `${cluster}-x86`, cpus: 2, ramBytes: 2 ** 32, arch: 'x86_64' }],
    });
    const dir = join(inject('stackDir'), cluster);
    mkdirSync(dir, { recursive: true });
    const configPath = join(dir, 'cloud-config.ini');
    writeFileSync(
      configPath,
      [
        '[global]',
        'k3s-url = https://127.0.0.1:6443',
        `k3s-token = K10${randomBytes(6).toString('hex')}`,
        `cluster-name = ${cluster}`,
        'default-min-size = 0',
        `[nodegroup "${cluster}-x86"]`,
        `slicer-url = ${sim.url}`,
        `slicer-token = ${token}`,
        '',
      ].join('\n'),
    );
    worker = await startWorker({
      configPath,
      flags: parseFlags(['--scan-interval=1s']).options,
      temporalAddress: inject('temporalAddress'),
      namespace: 'default',
      kubeconfig: inject('kubeconfigPath'),
      log: () => undefined,
    });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    ns = await freshNamespace(core, 'watch');
  });

  afterAll(async () => {
    await worker?.shutdown();
    await connection?.close();
    await sim?.stop();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('ends quietly instead of failing with WorkflowNotFoundError', async () => {
    const evaluator = new Client({ connection }).workflow.getHandle(autoscalerWorkflowId(cluster));
    await eventually('a first evaluation (the watch is running)', async () => {
      const s = await evaluator.query(statusQuery);
      return s.lastEvaluationAt !== undefined;
    });
    await evaluator.terminate('as the demo does at its end');
    // A change the watch must report: a pod that cannot be scheduled anywhere.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1', resources: { requests: { cpu: '64' } } }] },
      },
    });
    const watchLines = () =>
      entries.filter(
        (e) => e.meta?.['activityType'] === 'watchCluster' && e.meta?.['workflowId'] === evaluator.workflowId,
      );
    const ended = await eventually(
      'the watch to end',
      async () => watchLines().find((e) => /evaluator .* is gone|Activity failed/.test(e.message)),
      30_000,
    );
    expect(ended.message).toMatch(/evaluator autoscaler\/watch-[0-9a-f]+ is gone; the watch ends/);
    expect(watchLines().filter((e) => e.level === 'WARN' || e.level === 'ERROR')).toEqual([]);
    expect(entries.some((e) => String(e.meta?.['error'] ?? '').includes('WorkflowNotFoundError'))).toBe(false);
  });
});
