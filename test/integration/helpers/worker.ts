import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parseFlags } from '../../../src/config/flags.js';
import { ClusterJoiner } from '../../../src/simulator/join.js';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server.js';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../../src/worker.js';

/** A simulated Slicer host group whose VMs join the stack's cluster, and a worker for one fresh cluster name. */
export async function simulatedCluster(opts: {
  prefix: string;
  cpus?: number;
  /** Extra [global] / [nodegroup] lines. */
  global?: string[];
  group?: string[];
  flags?: string[];
  worker?: Partial<WorkerOptions>;
}): Promise<{ cluster: string; group: string; sim: RunningSimulator; worker: RunningWorker; stop(): Promise<void> }> {
  const cluster = `${opts.prefix}-${randomBytes(2).toString('hex')}`;
  const group = `${cluster}-x86`;
  const token = randomBytes(8).toString('hex');
  const sim = await startSimulator({
    token,
    hostGroups: [{ name: group, cpus: opts.cpus ?? 2, ramBytes: 4 * 1024 ** 3, arch: 'x86_64' }],
    joiner: new ClusterJoiner(inject('kubeconfigPath')),
    joinDelayMs: 500,
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
      'node-provision-timeout = 60s',
      ...(opts.global ?? []),
      `[nodegroup "${group}"]`,
      `slicer-url = ${sim.url}`,
      `slicer-token = ${token}`,
      ...(opts.group ?? []),
      '',
    ].join('\n'),
  );
  const worker = await startWorker({
    configPath,
    flags: parseFlags(opts.flags ?? ['--scan-interval=1s', '--scale-down-delay-after-add=2s']).options,
    temporalAddress: inject('temporalAddress'),
    namespace: 'default',
    kubeconfig: inject('kubeconfigPath'),
    log: () => undefined,
    ...opts.worker,
  });
  return {
    cluster,
    group,
    sim,
    worker,
    async stop() {
      await worker.shutdown();
      await sim.stop();
    },
  };
}
