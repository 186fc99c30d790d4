import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { apiserverCertFile, writeCredentials, writeKubeconfig } from './credentials.js';
import { freePort } from './ports.js';
import { isAlive, logTail, startComponent, waitFor, type ComponentProcess } from './processes.js';
import type { ToolPaths } from './tools.js';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_VALUE } from '../simulator/kwok.js';

/** A running control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK. */
export interface KubernetesControlPlane {
  apiserverUrl: string;
  kubeconfigPath: string;
  processes: ComponentProcess[];
}

// Pod IPs come from KWOK's CIDR and Service IPs from the apiserver's range; keep them apart.
const POD_CIDR = '10.0.0.0/16';
const SERVICE_CIDR = '10.96.0.0/16';

async function httpsOk(url: string, ca?: string): Promise<boolean> {
  // Component health ports serve self-signed certificates nobody else uses; the apiserver is checked with its CA.
  const dispatcher = new Agent({ connect: ca ? { ca } : { rejectUnauthorized: false } });
  try {
    const res = await request(url, { dispatcher, headersTimeout: 2000, bodyTimeout: 2000 });
    const body = await res.body.text();
    return res.statusCode === 200 && body.trim() === 'ok';
  } finally {
    await dispatcher.close();
  }
}

async function startEtcd(stateDir: string, tools: ToolPaths): Promise<{ url: string; proc: ComponentProcess }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startComponent(stateDir, 'etcd', tools.etcd, [
    '--name=local',
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=local=${peer}`,
    '--listen-metrics-urls=',
    // Throwaway data: fsync buys nothing and costs seconds on a busy disk.
    '--unsafe-no-fsync',
    '--auto-compaction-retention=1',
    '--log-level=warn',
  ]);
  await waitFor(
    'etcd',
    async () => {
      const res = await request(`${url}/health`, { headersTimeout: 2000 });
      const body = (await res.body.json()) as { health?: string };
      return body.health === 'true';
    },
    { timeoutMs: 30_000, alive: () => isAlive(proc.pid), describe: () => logTail(proc.logFile) },
  );
  return { url, proc };
}

/** Starts the whole control plane on 127.0.0.1 with free ports and returns once KWOK has made a probe node Ready. */
export async function startKubernetes(stateDir: string, tools: ToolPaths): Promise<KubernetesControlPlane> {
  const processes: ComponentProcess[] = [];
  const creds = writeCredentials(stateDir);
  const etcd = await startEtcd(stateDir, tools);
  processes.push(etcd.proc);

  const apiPort = await freePort();
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;
  const apiserver = startComponent(stateDir, 'kube-apiserver', tools.kubeApiserver, [
    `--etcd-servers=${etcd.url}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(stateDir, 'pki', 'apiserver')}`,
    `--token-auth-file=${creds.tokenFile}`,
    // As a real cluster (k3s included) runs: the chart's RBAC is tested against the same authorizers. The admin
    // token is in system:masters, which RBAC always allows, so the stack's own clients keep full rights.
    '--authorization-mode=Node,RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${creds.serviceAccountKey}`,
    `--service-account-signing-key-file=${creds.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    // The `kubernetes` Service endpoint would point at loopback, which is invalid; nothing here needs it.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ]);
  processes.push(apiserver);
  await waitFor(
    'kube-apiserver',
    async () =>
      existsSync(apiserverCertFile(stateDir)) &&
      httpsOk(`${apiserverUrl}/readyz`, readFileSync(apiserverCertFile(stateDir), 'utf8')),
    {
      timeoutMs: 90_000,
      intervalMs: 500,
      alive: () => isAlive(apiserver.pid),
      describe: () => logTail(apiserver.logFile),
    },
  );
  const kubeconfigPath = writeKubeconfig(stateDir, apiPort, creds.adminToken);

  const kcmPort = await freePort();
  const kcm = startComponent(stateDir, 'kube-controller-manager', tools.kubeControllerManager, [
    `--kubeconfig=${kubeconfigPath}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--bind-address=127.0.0.1',
    `--secure-port=${kcmPort}`,
    `--cert-dir=${join(stateDir, 'pki', 'kcm')}`,
    '--leader-elect=false',
    `--service-account-private-key-file=${creds.serviceAccountKey}`,
    `--root-ca-file=${apiserverCertFile(stateDir)}`,
    '--use-service-account-credentials=false',
    // As kwokctl does: notice a node that stopped renewing its lease within seconds, not minutes.
    '--node-monitor-period=5s',
    '--node-monitor-grace-period=40s',
  ]);
  processes.push(kcm);

  const schedPort = await freePort();
  const schedulerConfig = join(stateDir, 'kube-scheduler.yaml');
  writeFileSync(
    schedulerConfig,
    stringify({
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      clientConnection: { kubeconfig: kubeconfigPath },
      leaderElection: { leaderElect: false },
    }),
  );
  const scheduler = startComponent(stateDir, 'kube-scheduler', tools.kubeScheduler, [
    `--config=${schedulerConfig}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--bind-address=127.0.0.1',
    `--secure-port=${schedPort}`,
    `--cert-dir=${join(stateDir, 'pki', 'scheduler')}`,
  ]);
  processes.push(scheduler);

  const stageArgs = readdirSync(tools.kwokStages)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `--config=${join(tools.kwokStages, f)}`);
  const kwok = startComponent(stateDir, 'kwok', tools.kwok, [
    `--kubeconfig=${kubeconfigPath}`,
    ...stageArgs,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=${KWOK_NODE_VALUE}`,
    `--cidr=${POD_CIDR}`,
    '--node-ip=10.0.0.1',
    '--node-lease-duration-seconds=40',
  ]);
  processes.push(kwok);

  await waitFor('kube-controller-manager', () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`), {
    timeoutMs: 60_000,
    alive: () => isAlive(kcm.pid),
    describe: () => logTail(kcm.logFile),
  });
  await waitFor('kube-scheduler', () => httpsOk(`https://127.0.0.1:${schedPort}/healthz`), {
    timeoutMs: 60_000,
    alive: () => isAlive(scheduler.pid),
    describe: () => logTail(scheduler.logFile),
  });

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  // Pods are refused until the token controller has made the namespace's default ServiceAccount.
  await waitFor(
    'default ServiceAccount',
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    },
    { timeoutMs: 60_000, alive: () => isAlive(kcm.pid), describe: () => logTail(kcm.logFile) },
  );
  await probeKwok(
    core,
    () => isAlive(kwok.pid),
    () => logTail(kwok.logFile),
  );
  return { apiserverUrl, kubeconfigPath, processes };
}

/** Proves KWOK is managing nodes: a throwaway annotated Node must turn Ready. */
async function probeKwok(core: CoreV1Api, alive: () => boolean, describe: () => string): Promise<void> {
  const name = 'stack-probe-kwok';
  await core.createNode({
    body: {
      metadata: {
        name,
        annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_VALUE },
        labels: { 'slicer-autoscaler/probe': 'true' },
      },
      spec: { taints: [{ key: 'slicer-autoscaler/probe', effect: 'NoSchedule' }] },
    },
  });
  try {
    await waitFor(
      'KWOK (probe node Ready)',
      async () => {
        const node = await core.readNode({ name });
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      { timeoutMs: 60_000, alive, describe },
    );
  } finally {
    await core.deleteNode({ name }).catch(() => undefined);
    // Let the deletion settle so tests listing nodes start from an empty cluster.
    for (let i = 0; i < 20; i++) {
      const exists = await core.readNode({ name }).then(
        () => true,
        () => false,
      );
      if (!exists) break;
      await delay(100);
    }
  }
}
