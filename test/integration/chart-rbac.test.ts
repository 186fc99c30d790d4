import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { STATUS_CONFIGMAP } from '../../src/kube/status-configmap.js';
import type { RunningSimulator } from '../../src/simulator/server.js';
import { helmTemplate, parseRendered } from '../../src/stack/helm.js';
import { loadToolPaths } from '../../src/stack/tools.js';
import { eventually, freshNamespace, isReady, kubeClients, kwokNode } from './helpers/kube.js';
import { kubectl } from './helpers/kubectl.js';
import { startProduct, type Product } from './helpers/product.js';

// RBAC proven, not guessed: the chart's ServiceAccount, ClusterRole and Role are applied to the real apiserver
// (--authorization-mode=Node,RBAC), a token is minted for that ServiceAccount with the TokenRequest API, and the
// worker runs with a kubeconfig holding only that token through a scale-up and a scale-down whose drain evicts a
// pod. Status and events are best effort in the worker (a 403 there would be swallowed), so the test checks they
// were written too.

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** A kubeconfig for the stack's apiserver that authenticates with `token` alone. */
function tokenKubeconfig(path: string, token: string): string {
  const admin = new KubeConfig();
  admin.loadFromFile(inject('kubeconfigPath'));
  const cluster = admin.getCurrentCluster()!;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
    users: [{ name: 'chart-sa', user: { token } }],
    contexts: [{ name: 'chart-sa', context: { cluster: 'local', user: 'chart-sa' } }],
    'current-context': 'chart-sa',
  };
  writeFileSync(path, stringify(kubeconfig), { mode: 0o600 });
  return path;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (err: { code?: number }) => err.code,
  );

describe("the worker with nothing but the chart's RBAC", () => {
  const { core, apps } = kubeClients();
  const suffix = randomBytes(2).toString('hex');
  const cluster = `rbac-${suffix}`;
  const groupName = `${cluster}-x86`;
  const release = `rbac-${suffix}`;
  const staticNode = `static-${suffix}`;
  let ns = '';
  let rbacYaml = '';
  let saCore: CoreV1Api;
  let product: Product;
  let sim: RunningSimulator;

  beforeAll(async () => {
    ns = await freshNamespace(core, 'rbac');
    // The chart installed into `ns`, its status ConfigMap there too; only the RBAC objects are applied (the
    // Deployment would need an image; the worker runs in this process instead).
    const objects = parseRendered(
      helmTemplate(loadToolPaths().helm, { release, namespace: ns, set: [`statusNamespace=${ns}`] }),
    ).filter((o) => RBAC_KINDS.has(o.kind));
    expect(objects.map((o) => o.kind).sort()).toEqual([...RBAC_KINDS].sort());
    rbacYaml = objects.map((o) => `---\n${stringify(o)}`).join('');
    await kubectl(['apply', '-f', '-'], rbacYaml);
    const sa = objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name;

    const request = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const dir = join(inject('stackDir'), cluster);
    mkdirSync(dir, { recursive: true });
    const kubeconfig = tokenKubeconfig(join(dir, 'sa-kubeconfig'), request.status!.token);
    const saKc = new KubeConfig();
    saKc.loadFromFile(kubeconfig);
    saCore = saKc.makeApiClient(CoreV1Api);

    product = await startProduct({
      cluster,
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2', `node-labels = pool=${cluster}`] }],
      global: ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 3s'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=2s', '--scale-down-delay-after-delete=0s'],
      joinDelayMs: 500,
      namespace: ns,
      // Only the worker has the chart's token: the simulated VMs join as the k3s agent would, with its own
      // credentials, not the autoscaler's.
      workerKubeconfig: kubeconfig,
      worker: { statusNamespace: ns },
    });
    sim = product.sim;
  });

  afterAll(async () => {
    await product?.stop();
    await core.deleteNode({ name: staticNode }).catch(() => undefined);
    if (rbacYaml) await kubectl(['delete', '--ignore-not-found', '-f', '-'], rbacYaml).catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('is refused what the chart does not grant (RBAC is enforced, the token is not an admin)', async () => {
    expect(await codeOf(saCore.listNamespacedSecret({ namespace: ns }))).toBe(403);
    expect(await codeOf(saCore.listNamespace())).toBe(403);
    // The Role names one ConfigMap; every other one in that namespace stays out of reach.
    expect(await codeOf(saCore.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: ns }))).toBe(403);
    // What it is granted, it gets.
    expect(await codeOf(saCore.listNode())).toBe(200);
  });

  it('scales up for a pending pod, then scales down draining a pod through the Eviction API', async () => {
    const workload = (name: string, replicas: number, cpu: string, selector: Record<string, string>) =>
      ({
        metadata: { name },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              nodeSelector: selector,
              terminationGracePeriodSeconds: 0,
              containers: [
                { name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu, memory: '128Mi' } } },
              ],
            },
          },
        },
      }) satisfies V1Deployment;

    // Scale-up: a 1.2-CPU pod only a new 2-CPU VM of the group can take.
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: workload('big', 1, '1200m', { 'slicer/hostgroup': groupName }),
    });
    const [vmNode] = await eventually(
      'the big pod Running on a new node',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=big' })).items;
        const running = pods.filter((p) => p.status?.phase === 'Running');
        return running.length === 1 ? [running[0]!.spec!.nodeName!] : undefined;
      },
      120_000,
    );
    expect(sim.vms()).toHaveLength(1);

    // A small pod joins it there; then a node outside the group appears that could take the small pod.
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: workload('small', 1, '300m', { pool: cluster }),
    });
    const smallPod = await eventually('the small pod Running on the VM node', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=small' })).items;
      const p = pods.find((x) => x.status?.phase === 'Running');
      return p && p.spec!.nodeName === vmNode ? p.metadata!.name! : undefined;
    });
    await core.createNode({ body: kwokNode(staticNode, { cpu: '4', memory: '8Gi', labels: { pool: cluster } }) });
    await eventually('the static node Ready', async () => isReady(await core.readNode({ name: staticNode })));

    // The written-down decisions prove the Role and the events grant: the worker swallows a 403 on either.
    await eventually('the status ConfigMap in the status namespace', () =>
      core.readNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace: ns }),
    );
    const events = await eventually('a TriggeredScaleUp event from the worker', async () => {
      const list = (await core.listNamespacedEvent({ namespace: ns })).items;
      const ours = list.filter((e) => e.source?.component === 'slicer-autoscaler' && e.reason === 'TriggeredScaleUp');
      return ours.length ? ours : undefined;
    });
    expect(events[0]!.involvedObject.name).toMatch(/^big-/);

    // Scale-down: the VM node is now underused and its small pod fits on the static node.
    await apps.patchNamespacedDeploymentScale({
      name: 'big',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await eventually(
      'the VM and its Node removed',
      async () => {
        const left = (await core.listNode({ labelSelector: `slicer/hostgroup=${groupName}` })).items;
        return left.length === 0 && sim.vms().length === 0;
      },
      120_000,
    );
    // The small pod was evicted (its ReplicaSet made a new one on the static node), not left behind.
    const after = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=small' })).items;
    expect(after.map((p) => p.metadata!.name)).not.toContain(smallPod);
    await eventually('the small pod Running on the static node', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=small' })).items;
      return pods.some((p) => p.status?.phase === 'Running' && p.spec!.nodeName === staticNode);
    });
    const { client } = product;
    const removals: unknown[] = [];
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'scaleDownWorkflow' AND NodeGroup = '${groupName}'`,
    }))
      removals.push(await client.workflow.getHandle(w.workflowId).result());
    expect(removals).toContainEqual(
      expect.objectContaining({ outcome: 'removed', node: vmNode, evicted: [`${ns}/${smallPod}`] }),
    );
  }, 300_000);
});
