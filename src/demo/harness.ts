import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { AppsV1Api, CoreV1Api, KubeConfig, PolicyV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { TO_BE_DELETED_TAINT } from '../activities/drain.js';
import { parseFlags } from '../config/flags.js';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';
import { ClusterJoiner } from '../simulator/join.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../simulator/server.js';
import type { StackInfo } from '../stack/stack.js';
import { autoscalerWorkflowId } from '../shared/ids.js';
import { statusQuery } from '../workflows/messages.js';
import { startWorker, type RunningWorker } from '../worker.js';
import { leftBehind, type FinalState, type Outcome } from './verdict.js';

const GIB = 1024 ** 3;

/** One Slicer host group: its own simulated daemon, and its `[nodegroup]` section. */
export interface GroupSpec {
  name: string;
  cpus: number;
  ramGiB: number;
  arch: 'x86_64' | 'aarch64';
  /** Extra `[nodegroup]` lines, like `max-size = 4`. */
  ini?: string[];
  faults?: SimulatorOptions['faults'];
}

/** A demo scenario: its hosts, config and flags, and the story it plays against the real stack. */
export interface Scenario {
  name: string;
  summary: string;
  groups: GroupSpec[];
  /** Extra `[global]` lines. */
  global?: string[];
  /** cluster-autoscaler flags for the worker. */
  flags: string[];
  reconcileIntervalMs?: number;
  /** How long a created VM takes to join as a Node. */
  joinDelayMs?: number;
  play(ctx: ScenarioContext): Promise<Outcome>;
}

export interface ScenarioContext {
  cluster: string;
  /** The namespace the scenario's workload lives in. */
  namespace: string;
  /** The real name of a scenario group (tests give each run its own names). */
  g(name: string): string;
  say(line: string): void;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  client: Client;
  evaluator: WorkflowHandle;
  sims: Record<string, RunningSimulator>;
  /** Nodes the scenario made itself (a control plane), removed at the end when the stack is shared. */
  ownNodes: string[];
  until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  nodesOf(group: string): Promise<V1Node[]>;
  podsOf(labelSelector?: string): Promise<V1Pod[]>;
  signal: AbortSignal;
}

export interface Harness {
  ctx: ScenarioContext;
  worker: RunningWorker;
  connection: Connection;
  /** Reads the final state, waiting up to `settleMs` for operations to close and Nodes to settle. */
  finalState(settleMs?: number): Promise<FinalState>;
  /**
   * Stops the worker's polling, the evaluator and the simulators; on a shared stack also removes what the run made.
   * The process must exit afterwards (the worker's last activities are left to end with it).
   */
  tearDown(): Promise<void>;
}

/** Starts one simulated Slicer daemon per group and a worker for the scenario's config on `stack`. */
export async function setUp(
  scenario: Scenario,
  stack: StackInfo,
  opts: {
    say: (l: string) => void;
    /** Log-file-only lines: the worker's own lines once teardown began (its informers lose the stack). */
    record: (l: string) => void;
    shared: boolean;
    signal: AbortSignal;
    workDir: string;
  },
): Promise<Harness> {
  const suffix = opts.shared ? `-${randomBytes(2).toString('hex')}` : '';
  const cluster = `${scenario.name}${suffix}`;
  const g = (name: string) => `${name}${suffix}`;
  const token = randomBytes(16).toString('hex');
  let tearingDown = false;
  const joiner = new ClusterJoiner(stack.kubeconfigPath);
  const sims: Record<string, RunningSimulator> = {};
  for (const spec of scenario.groups)
    sims[g(spec.name)] = await startSimulator({
      token,
      hostGroups: [{ name: g(spec.name), cpus: spec.cpus, ramBytes: spec.ramGiB * GIB, arch: spec.arch }],
      joiner,
      joinDelayMs: scenario.joinDelayMs ?? 1500,
      faults: spec.faults,
    });
  const dir = join(opts.workDir, cluster);
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'cloud-config.ini');
  writeFileSync(
    configPath,
    [
      '[global]',
      'k3s-url = https://127.0.0.1:6443',
      `k3s-token = K10demo${randomBytes(8).toString('hex')}`,
      `cluster-name = ${cluster}`,
      ...(scenario.global ?? []),
      ...scenario.groups.flatMap((spec) => [
        '',
        `[nodegroup "${g(spec.name)}"]`,
        `slicer-url = ${sims[g(spec.name)]!.url}`,
        `slicer-token = ${token}`,
        ...(spec.ini ?? []),
      ]),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const worker = await startWorker({
    configPath,
    flags: parseFlags(scenario.flags).options,
    temporalAddress: stack.temporalAddress,
    namespace: 'default',
    kubeconfig: stack.kubeconfigPath,
    statusNamespace: 'kube-system',
    reconcileIntervalMs: scenario.reconcileIntervalMs,
    log: (l) => (tearingDown ? opts.record : opts.say)(`worker: ${l}`),
  });

  const kc = new KubeConfig();
  kc.loadFromFile(stack.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  const evaluator = client.workflow.getHandle(autoscalerWorkflowId(cluster));
  const namespace = opts.shared ? cluster : 'demo';

  const until = async <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (opts.signal.aborted) throw new Error('stopped by the operator');
      const v = await fn().catch(() => undefined);
      if (v !== undefined && v !== false) return v;
      await delay(500);
    }
    throw new Error(`gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)}s`);
  };
  const nodesOf = async (group: string) =>
    (await core.listNode({ labelSelector: `${HOSTGROUP_LABEL}=${group}` })).items;
  const ctx: ScenarioContext = {
    cluster,
    namespace,
    g,
    say: opts.say,
    core,
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    client,
    evaluator,
    sims,
    ownNodes: [],
    until,
    nodesOf,
    podsOf: async (labelSelector) => (await core.listNamespacedPod({ namespace, labelSelector })).items,
    signal: opts.signal,
  };
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await until(`the default ServiceAccount in ${namespace}`, () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace }),
  );

  async function readState(): Promise<FinalState> {
    const groups: FinalState['groups'] = {};
    for (const [name, sim] of Object.entries(sims)) {
      groups[name] = {
        vms: sim.vms().map((v) => v.hostname),
        nodes: (await nodesOf(name)).map((n) => ({
          name: n.metadata!.name!,
          hostname: n.metadata?.labels?.[HOSTNAME_LABEL] ?? '',
          ready: isNodeReady(n),
          tainted: n.spec?.taints?.some((t) => t.key === TO_BE_DELETED_TAINT) ?? false,
          cordoned: n.spec?.unschedulable ?? false,
        })),
      };
    }
    const status = await evaluator.query(statusQuery);
    const running: string[] = [];
    const groupList = Object.keys(sims)
      .map((n) => `'${n}'`)
      .join(', ');
    for await (const w of client.workflow.list({
      query: `ExecutionStatus = 'Running' AND NodeGroup IN (${groupList})`,
    }))
      running.push(w.workflowId);
    const pendingPods = (await ctx.podsOf())
      .filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'))
      .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
    return { groups, operationsInFlight: Object.keys(status.operations), runningWorkflows: running, pendingPods };
  }

  return {
    ctx,
    worker,
    connection,
    async finalState(settleMs = 30_000) {
      const deadline = Date.now() + settleMs;
      let state = await readState();
      while (leftBehind(state).length > 0 && Date.now() < deadline && !opts.signal.aborted) {
        await delay(1000);
        state = await readState();
      }
      return state;
    },
    async tearDown() {
      // Stop polling first, so no workflow task races the termination; the watch activity is not waited for (the
      // grace time would be 20 s): the process ends right after, and the terminated evaluator needs no answer.
      tearingDown = true;
      worker.worker.shutdown();
      await delay(1000);
      await evaluator.terminate('demo over').catch(() => undefined);
      await connection.close();
      for (const sim of Object.values(sims)) await sim.stop();
      if (!opts.shared) return;
      for (const name of Object.keys(sims))
        for (const n of await nodesOf(name).catch(() => []))
          await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
      for (const name of ctx.ownNodes) await core.deleteNode({ name }).catch(() => undefined);
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}
