// `npm run demo`: the whole product on this machine with embedded defaults. A local Temporal dev server and a
// local Kubernetes control plane with KWOK, two simulated Slicer hosts (x86 and Arm), and a slicer-autoscaler worker.
// A workload arrives, VMs are added by scale-up workflows and join as Nodes; an operator pauses and resumes;
// the workload goes, and scale-down workflows drain and remove the VMs. Every step is visible in the Temporal UI.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { parseFlags } from '../config/flags.js';
import { ClusterJoiner } from '../simulator/join.js';
import { startSimulator } from '../simulator/server.js';
import { startStack, stopStack } from '../stack/stack.js';
import { autoscalerWorkflowId } from '../shared/ids.js';
import { explainQuery, pauseUpdate, resumeUpdate, scaleGroupUpdate, statusQuery } from '../workflows/messages.js';
import { startWorker } from '../worker.js';

const GIB = 1024 ** 3;
const CLUSTER = 'demo';
const t0 = Date.now();
const say = (line: string) => console.log(`[demo ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    await delay(500);
  }
  throw new Error(`demo: gave up waiting for ${what} after ${timeoutMs / 1000}s`);
}

async function main(): Promise<void> {
  // The worker's own INFO lines would drown the story; warnings and errors still show.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: resolve('.stack', 'demo') },
    },
  });
  const stateDir = values['state-dir'];
  say('starting the local stack (Temporal dev server + Kubernetes control plane + KWOK)...');
  const stack = await startStack({ stateDir, ownerPid: process.pid, log: () => undefined });
  say(
    `stack up in ${(stack.startedInMs / 1000).toFixed(1)}s. Temporal UI: ${stack.temporalUiUrl}   kubeconfig: ${stack.kubeconfigPath}`,
  );

  const token = randomBytes(16).toString('hex');
  const joiner = new ClusterJoiner(stack.kubeconfigPath);
  const x86 = await startSimulator({
    token,
    hostGroups: [{ name: 'slicer-x86', cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
    joiner,
    joinDelayMs: 1500,
  });
  const arm = await startSimulator({
    token,
    hostGroups: [{ name: 'slicer-arm', cpus: 4, ramBytes: 8 * GIB, arch: 'aarch64' }],
    joiner,
    joinDelayMs: 1500,
  });
  say(`simulated Slicer hosts: slicer-x86 (2 vCPU, 4 GiB) at ${x86.url}, slicer-arm (4 vCPU, 8 GiB) at ${arm.url}`);

  const dir = join(stateDir, 'demo');
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'cloud-config.ini');
  // The same INI the Slicer cluster-autoscaler provider reads, plus our extensions; short timers for a demo.
  writeFileSync(
    configPath,
    [
      '[global]',
      'k3s-url = https://127.0.0.1:6443',
      `k3s-token = K10demo${randomBytes(8).toString('hex')}`,
      `cluster-name = ${CLUSTER}`,
      'default-min-size = 0',
      'default-max-size = 4',
      'node-provision-timeout = 60s',
      'scale-down-unneeded-time = 20s',
      '',
      '[nodegroup "slicer-x86"]',
      `slicer-url = ${x86.url}`,
      `slicer-token = ${token}`,
      '',
      '[nodegroup "slicer-arm"]',
      `slicer-url = ${arm.url}`,
      `slicer-token = ${token}`,
      'max-size = 2',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const { options } = parseFlags(['--scan-interval=2s', '--scale-down-delay-after-add=15s']);
  const worker = await startWorker({
    configPath,
    flags: options,
    temporalAddress: stack.temporalAddress,
    namespace: 'default',
    kubeconfig: stack.kubeconfigPath,
    statusNamespace: 'kube-system',
    log: (l) => say(`worker: ${l}`),
  });

  const kc = new KubeConfig();
  kc.loadFromFile(stack.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  const evaluator = client.workflow.getHandle(autoscalerWorkflowId(CLUSTER));
  const nodesOf = async (group: string) => (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items;
  const readyCount = async (group: string) =>
    (await nodesOf(group)).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .length;

  try {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await until('default ServiceAccount in shop', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: 'shop' }),
    );
    const deploy = (name: string, replicas: number, cpu: string, selector: Record<string, string>): V1Deployment => ({
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            nodeSelector: selector,
            containers: [
              { name: name, image: `registry.invalid/${name}:1`, resources: { requests: { cpu, memory: '512Mi' } } },
            ],
          },
        },
      },
    });
    say(
      'a workload arrives: web (4 x 900m CPU, amd64), api (2 x 1500m CPU, arm64), and a 16-CPU batch pod no host can run',
    );
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deploy('web', 4, '900m', { 'kubernetes.io/arch': 'amd64' }),
    });
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deploy('api', 2, '1500m', { 'kubernetes.io/arch': 'arm64' }),
    });
    await core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'batch' },
        spec: {
          containers: [
            { name: 'batch', image: 'registry.invalid/batch:1', resources: { requests: { cpu: '16', memory: '1Gi' } } },
          ],
        },
      },
    });

    await until('web and api Running', async () => {
      const pods = (await core.listNamespacedPod({ namespace: 'shop' })).items;
      return pods.filter((p) => p.status?.phase === 'Running').length === 6;
    });
    say(
      `all 6 pods Running on new VMs: slicer-x86 has ${await readyCount('slicer-x86')} Ready node(s), slicer-arm ${await readyCount('slicer-arm')}`,
    );
    const batch = await until('an explanation for batch', async () => {
      const e = await evaluator.query(explainQuery, { pod: 'shop/batch' });
      return e.found ? e : undefined;
    });
    if (batch.found) say(`why is shop/batch pending? ${batch.verdict.reason}: ${batch.verdict.message}`);

    say('operator: pause the autoscaler for maintenance, and ask for 9 x86 nodes (above max-size)');
    await evaluator.executeUpdate(pauseUpdate, { args: [{ reason: 'maintenance window' }] });
    const refused = await evaluator
      .executeUpdate(scaleGroupUpdate, { args: [{ group: 'slicer-x86', size: 9 }] })
      .catch((e: Error) => (e.cause as Error)?.message ?? e.message);
    say(`scaleGroup slicer-x86 to 9 -> ${typeof refused === 'string' ? `refused: ${refused}` : 'accepted?!'}`);
    await evaluator.executeUpdate(resumeUpdate, { args: [{}] });
    say('operator: resumed');

    say('the workload goes away (web and api scaled to 0, batch deleted): nodes become unneeded');
    await core.deleteNamespacedPod({ name: 'batch', namespace: 'shop' });
    for (const name of ['web', 'api'])
      await apps.patchNamespacedDeploymentScale({
        name,
        namespace: 'shop',
        body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
      });
    let last = '';
    await until('every VM removed', async () => {
      const s = await evaluator.query(statusQuery);
      const line =
        Object.entries(s.groups)
          .map(([g, v]) => `${g} ${v.size} node(s)`)
          .join(', ') + ` | operations in flight: ${Object.keys(s.operations).length}`;
      if (line !== last) say(line);
      last = line;
      return (
        (await nodesOf('slicer-x86')).length + (await nodesOf('slicer-arm')).length === 0 &&
        x86.vms().length + arm.vms().length === 0
      );
    });
    say('every VM deleted through Slicer and every Node removed; nothing left behind');

    const kinds: Record<string, number> = {};
    for await (const w of client.workflow.list({
      query: `AutoscalerCluster = '${CLUSTER}' OR NodeGroup = 'slicer-x86' OR NodeGroup = 'slicer-arm'`,
    }))
      kinds[w.type] = (kinds[w.type] ?? 0) + 1;
    say(
      `workflows in Temporal: ${Object.entries(kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}`,
    );
    say(`see them at ${stack.temporalUiUrl}/namespaces/default/workflows (query: WorkflowId STARTS_WITH 'scale-')`);
    if (values.keep) {
      say('--keep: the stack keeps running; steer it with `npm run cli -- status --cluster demo`. Ctrl-C to stop.');
      await new Promise<void>((r) => process.once('SIGINT', r));
    }
  } finally {
    await evaluator.terminate('demo over').catch(() => undefined);
    await worker.shutdown().catch(() => undefined);
    await connection.close();
    await x86.stop();
    await arm.stop();
    await stopStack(stateDir);
    say('stack stopped');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[demo] failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
