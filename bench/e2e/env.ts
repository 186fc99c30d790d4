import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Secret } from '../../src/config/secret.js';
import { createSlicerClient, type SlicerClient } from '../../src/slicer/client.js';
import { ClusterJoiner } from '../../src/simulator/join.js';
import { startSimulator, type RunningSimulator, type SimRequest } from '../../src/simulator/server.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { startStack, stopStack, type StackInfo } from '../../src/stack/stack.js';
import { ClusterWatch, kubeClients, until } from './kube.js';
import type { MachineSampler } from './machine.js';
import { WorkerProcess } from './worker-process.js';

// One scenario's world: a fresh local stack (so no scenario sees another's nodes, pods or histories), one
// simulated Slicer daemon per node group with its own join delay, a cloud-config, and the worker in its own process.

const GIB = 1024 ** 3;

export interface GroupSpec {
  /** Suffix of the group name `<cluster>-<suffix>`. */
  suffix: string;
  cpus: number;
  ramGib: number;
  joinDelayMs: number;
  maxSize: number;
}

export interface EnvOptions {
  scenario: string;
  groups: GroupSpec[];
  /** Extra `[global]` lines of the cloud-config. */
  global?: string[];
  /** Worker flags (cluster-autoscaler names). */
  flags: string[];
  nodeOptions: string[];
  workerEnv: Record<string, string>;
  /** Where logs and the cloud-config go. */
  dir: string;
  log: (line: string) => void;
  /** Start the worker now (default true); `startWorker()` later otherwise. */
  startWorker?: boolean;
}

export interface Group extends GroupSpec {
  name: string;
  sim: RunningSimulator;
}

export class Env {
  readonly cluster: string;
  readonly namespace: string;
  readonly groups: Group[] = [];
  stack!: StackInfo;
  kc!: KubeConfig;
  core!: CoreV1Api;
  client!: Client;
  watch!: ClusterWatch;
  worker?: WorkerProcess;
  /** Workers stopped by `restartWorker`, with what their samplers saw. */
  readonly retired: ReturnType<MachineSampler['stop']>[] = [];
  private connection?: Connection;
  private readonly token = randomBytes(16).toString('hex');
  private configPath = '';

  constructor(readonly opts: EnvOptions) {
    this.cluster = `b${opts.scenario.replace(/[^a-z0-9]/g, '').slice(0, 10)}${randomBytes(2).toString('hex')}`;
    this.namespace = this.cluster;
  }

  /** The group called `<cluster>-<suffix>`. */
  group(suffix: string): Group {
    const g = this.groups.find((x) => x.suffix === suffix);
    if (!g) throw new Error(`no group ${suffix}`);
    return g;
  }

  async start(): Promise<void> {
    const { dir, log } = this.opts;
    mkdirSync(dir, { recursive: true });
    this.stack = await startStack({ ownerPid: process.pid });
    log(`stack up in ${(this.stack.startedInMs / 1000).toFixed(1)} s`);
    ({ kc: this.kc, core: this.core } = kubeClients(this.stack.kubeconfigPath));
    const joiner = new ClusterJoiner(this.stack.kubeconfigPath);
    for (const spec of this.opts.groups) {
      const name = `${this.cluster}-${spec.suffix}`;
      const sim = await startSimulator({
        token: this.token,
        hostGroups: [{ name, cpus: spec.cpus, ramBytes: spec.ramGib * GIB, arch: 'x86_64' }],
        joiner,
        joinDelayMs: spec.joinDelayMs,
      });
      this.groups.push({ ...spec, name, sim });
    }
    this.configPath = join(dir, 'cloud-config.ini');
    writeFileSync(
      this.configPath,
      [
        '[global]',
        'k3s-url = https://127.0.0.1:6443',
        `k3s-token = K10${randomBytes(12).toString('hex')}`,
        `cluster-name = ${this.cluster}`,
        'default-min-size = 0',
        ...(this.opts.global ?? []),
        ...this.groups.flatMap((g) => [
          `[nodegroup "${g.name}"]`,
          `slicer-url = ${g.sim.url}`,
          `slicer-token = ${this.token}`,
          `max-size = ${g.maxSize}`,
        ]),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await this.core.createNamespace({ body: { metadata: { name: this.namespace } } });
    await until(
      'the namespace’s default ServiceAccount',
      () => this.core.readNamespacedServiceAccount({ name: 'default', namespace: this.namespace }),
      30_000,
    );
    this.connection = await Connection.connect({ address: this.stack.temporalAddress });
    this.client = new Client({ connection: this.connection });
    this.watch = new ClusterWatch(this.kc, this.namespace);
    await this.watch.start();
    if (this.opts.startWorker !== false) await this.startWorker();
  }

  async startWorker(): Promise<WorkerProcess> {
    const worker = new WorkerProcess({
      configPath: this.configPath,
      kubeconfigPath: this.stack.kubeconfigPath,
      temporalAddress: this.stack.temporalAddress,
      flags: this.opts.flags,
      nodeOptions: this.opts.nodeOptions,
      env: this.opts.workerEnv,
      logFile: join(this.opts.dir, this.retired.length ? `worker-${this.retired.length + 1}.log` : 'worker.log'),
    });
    this.worker = worker;
    await worker.ready();
    this.opts.log(`worker pid ${worker.pid} ready, RSS ${worker.sampler.now().toFixed(0)} MiB`);
    return worker;
  }

  /** Stops the worker (as a crash would: no graceful shutdown) and starts a fresh one with a cold cache. */
  async restartWorker(): Promise<WorkerProcess> {
    const old = this.worker!;
    this.retired.push(old.sampler.stop());
    await old.stop();
    return this.startWorker();
  }

  evaluator(): WorkflowHandle {
    return this.client.workflow.getHandle(autoscalerWorkflowId(this.cluster));
  }

  /** Every VM create the simulators answered with 201, oldest first, with its group. */
  creates(): (SimRequest & { group: string })[] {
    return this.groups
      .flatMap((g) =>
        g.sim
          .requests()
          .filter((r) => r.method === 'POST' && /\/hostgroup\/[^/]+\/nodes$/.test(r.path) && r.status === 201)
          .map((r) => ({ ...r, group: g.name })),
      )
      .sort((a, b) => a.at - b.at);
  }

  /** Every VM delete the simulators answered, oldest first. */
  deletes(): (SimRequest & { group: string })[] {
    return this.groups
      .flatMap((g) =>
        g.sim
          .requests()
          .filter((r) => r.method === 'DELETE' && r.status === 200)
          .map((r) => ({ ...r, group: g.name })),
      )
      .sort((a, b) => a.at - b.at);
  }

  /** A Slicer client of one group's simulator, for VMs made behind the autoscaler's back. */
  slicerClient(suffix: string): SlicerClient {
    return createSlicerClient({ url: this.group(suffix).sim.url, token: new Secret(this.token) });
  }

  /** VMs alive in the simulators now. */
  vmCount(): number {
    return this.groups.reduce((n, g) => n + g.sim.vms().length, 0);
  }

  /** Stops everything this environment started; the stack last. */
  async stop(): Promise<void> {
    this.watch?.stop();
    // A CPU profile is written only on a graceful exit.
    const profiling = this.opts.nodeOptions.some((o) => o.startsWith('--cpu-prof'));
    await this.worker?.stop(profiling ? 30_000 : 0).catch(() => undefined);
    for (const g of this.groups) await g.sim.stop().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    if (this.stack) await stopStack(this.stack.stateDir);
  }
}
