import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { V1Pod } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parseFlags } from '../../../src/config/flags.js';
import { ClusterJoiner } from '../../../src/simulator/join.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../../src/simulator/server.js';
import { autoscalerWorkflowId } from '../../../src/shared/ids.js';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../../src/worker.js';
import { eventually, freshNamespace, kubeClients } from './kube.js';

// The whole product on the real stack for a test: a simulated Slicer daemon whose VMs join the real control plane,
// a cloud-config, an in-process worker (restartable), a Temporal client and a fresh namespace. Each call has its
// own cluster name (fresh, or a fresh one the test made) and group names, so tests in one run never see each other's
// nodes or workflows.

const GIB = 1024 ** 3;

export interface ProductGroup {
  /** Suffix; the real group name is `<cluster>-<suffix>`. */
  suffix: string;
  cpus: number;
  ramGib: number;
  arch?: string;
  /** Extra `[nodegroup]` lines, e.g. `max-size = 3`. */
  lines?: string[];
  /** Which simulated Slicer daemon (host) serves the group: 0 (default), 1, ...; each has its own API and RAM. */
  daemon?: number;
}

export interface ProductOptions {
  /** Cluster name; default a fresh one. For a test that needs it before the product starts (labels, RBAC, paths). */
  cluster?: string;
  groups: ProductGroup[];
  /** Extra `[global]` lines. */
  global?: string[];
  /** Worker flags (cluster-autoscaler names). */
  flags?: string[];
  joinDelayMs?: number;
  /** Faults of every simulated Slicer daemon (e.g. a share of creates that fail). */
  faults?: SimulatorOptions['faults'];
  /** The test namespace, when the test made it (and deletes it); default a fresh one, which stop() deletes. */
  namespace?: string;
  /** More options of the in-process worker (ports, status namespace and interval, dry-run ...). */
  worker?: Partial<Omit<WorkerOptions, 'configPath' | 'flags' | 'temporalAddress' | 'kubeconfig'>>;
  /** Kubeconfig the worker uses (e.g. through a fault proxy); default the stack's admin kubeconfig. */
  workerKubeconfig?: string;
  /** Start the worker now (default true). */
  startWorker?: boolean;
  /** Another Temporal server than the stack's (a test that restarts its own). */
  temporalAddress?: string;
}

export interface Product {
  cluster: string;
  /** Real group names, in the order of `opts.groups`. */
  groups: string[];
  /** The first simulated Slicer daemon (the only one unless a group asks for another). */
  sim: RunningSimulator;
  /** Every simulated Slicer daemon, by the groups' `daemon` index. */
  sims: RunningSimulator[];
  simToken: string;
  k3sToken: string;
  configPath: string;
  client: Client;
  ns: string;
  evaluator(): WorkflowHandle;
  worker(): RunningWorker | undefined;
  startWorker(): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  /** Nodes of one of our groups (or all of them). */
  nodes(group?: string): Promise<import('@kubernetes/client-node').V1Node[]>;
  /** A pod in the test namespace requesting cpu/memory, pinned to our groups. */
  pod(name: string, opts: { cpu: string; memory?: string; group?: string; extra?: Partial<V1Pod['spec']> }): V1Pod;
  stop(): Promise<void>;
}

export async function startProduct(opts: ProductOptions): Promise<Product> {
  const { core } = kubeClients();
  const cluster = opts.cluster ?? `p${randomBytes(3).toString('hex')}`;
  const groups = opts.groups.map((g) => `${cluster}-${g.suffix}`);
  const simToken = `slicer-${randomBytes(8).toString('hex')}`;
  const k3sToken = `K10-${randomBytes(8).toString('hex')}`;
  const daemons = Math.max(...opts.groups.map((g) => g.daemon ?? 0)) + 1;
  const sims: RunningSimulator[] = [];
  for (let d = 0; d < daemons; d++) {
    sims.push(
      await startSimulator({
        token: simToken,
        hostGroups: opts.groups.flatMap((g, i) =>
          (g.daemon ?? 0) === d
            ? [{ name: groups[i]!, cpus: g.cpus, ramBytes: g.ramGib * GIB, arch: g.arch ?? 'x86_64' }]
            : [],
        ),
        joiner: new ClusterJoiner(inject('kubeconfigPath')),
        joinDelayMs: opts.joinDelayMs ?? 300,
        faults: opts.faults,
      }),
    );
  }
  const sim = sims[0]!;
  const configPath = writeCloudConfig(cluster, [
    '[global]',
    'k3s-url = https://127.0.0.1:6443',
    `k3s-token = ${k3sToken}`,
    `cluster-name = ${cluster}`,
    'default-min-size = 0',
    ...(opts.global ?? []),
    ...opts.groups.flatMap((g, i) => [
      `[nodegroup "${groups[i]}"]`,
      `slicer-url = ${sims[g.daemon ?? 0]!.url}`,
      `slicer-token = ${simToken}`,
      ...(g.lines ?? []),
    ]),
  ]);
  const temporalAddress = opts.temporalAddress ?? inject('temporalAddress');
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const ns = opts.namespace ?? (await freshNamespace(core, cluster));
  let worker: RunningWorker | undefined;

  const product: Product = {
    cluster,
    groups,
    sim,
    sims,
    simToken,
    k3sToken,
    configPath,
    client,
    ns,
    evaluator: () => client.workflow.getHandle(autoscalerWorkflowId(cluster)),
    worker: () => worker,
    async startWorker() {
      worker = await startStackWorker(configPath, opts.flags ?? [], {
        temporalAddress,
        kubeconfig: opts.workerKubeconfig ?? inject('kubeconfigPath'),
        ...opts.worker,
      });
      return worker;
    },
    async stopWorker() {
      const w = worker;
      worker = undefined;
      await w?.shutdown();
    },
    async nodes(group) {
      const selector = group ? `slicer/hostgroup=${group}` : 'slicer/hostgroup';
      const items = (await core.listNode({ labelSelector: selector })).items;
      return items.filter((n) => groups.includes(n.metadata?.labels?.['slicer/hostgroup'] ?? ''));
    },
    pod(name, p) {
      return {
        metadata: { name, namespace: ns, labels: { app: name } },
        spec: {
          nodeSelector: { 'slicer/hostgroup': p.group ?? groups[0]! },
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/app:1',
              resources: { requests: { cpu: p.cpu, memory: p.memory ?? '64Mi' } },
            },
          ],
          ...p.extra,
        },
      };
    },
    async stop() {
      await product
        .evaluator()
        .terminate('test over')
        .catch(() => undefined);
      await product.stopWorker();
      for (const s of sims) await s.stop();
      await connection.close();
      for (const n of await product.nodes()) await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
      if (!opts.namespace) await core.deleteNamespace({ name: ns }).catch(() => undefined);
    },
  };
  if (opts.startWorker !== false) {
    try {
      await product.startWorker();
      await eventually('the evaluator to run', async () => {
        const d = await product.evaluator().describe();
        return d.status.name === 'RUNNING';
      });
    } catch (err) {
      // The caller gets no product to stop: leave nothing of ours behind (simulators, connection, namespace).
      await product.stop().catch(() => undefined);
      throw err;
    }
  }
  return product;
}

/** A silent in-process worker for a cloud-config, on the stack's Temporal (namespace default) and kubeconfig. */
export function startStackWorker(
  configPath: string,
  flags: string[],
  more: Partial<Omit<WorkerOptions, 'configPath' | 'flags'>> = {},
): Promise<RunningWorker> {
  return startWorker({
    configPath,
    flags: parseFlags(flags).options,
    temporalAddress: inject('temporalAddress'),
    namespace: 'default',
    kubeconfig: inject('kubeconfigPath'),
    log: () => undefined,
    ...more,
  });
}

/** Writes `<stackDir>/<cluster>/cloud-config.ini` from its lines and returns its path. */
export function writeCloudConfig(cluster: string, lines: string[]): string {
  const dir = join(inject('stackDir'), cluster);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'cloud-config.ini');
  writeFileSync(path, [...lines, ''].join('\n'));
  return path;
}
