import { setTimeout as delay } from 'node:timers/promises';
import { PatchStrategy, setHeaderOptions, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { kubeClients } from '../helpers/kube.js';
import type { Product } from '../helpers/product.js';
import { GUARDED_LABEL, PROTECTED_LABEL, type Monitor } from './invariants.js';

// What a fault scenario runs against the product: a ReplicaSet whose replicas come and go (each pod wants most of a
// node, so scaling it makes scale-ups, and scaling it down leaves nodes unneeded: scale-downs that evict what is
// left), and a set of small pods the planner must never evict.

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * What the workloads of the running scenario did and when (`web=3 in 4.2s`, `!` when the pods were not all running
 * by the step's timeout), printed with the scenario's result; one scenario runs at a time.
 */
export const timeline: string[] = [];

function replicaSet(
  name: string,
  namespace: string,
  replicas: number,
  pod: { labels?: Record<string, string>; annotations?: Record<string, string>; spec: V1Pod['spec'] },
): V1ReplicaSet {
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { rs: name } },
      template: {
        metadata: { labels: { rs: name, ...pod.labels }, annotations: pod.annotations },
        spec: pod.spec,
      },
    },
  };
}

/** Where a scenario's pods may run: one group (`slicer/hostgroup`), or a label several groups' nodes carry. */
export type Placement = string | Record<string, string>;

function podSpec(where: Placement, cpu: string, extra: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod['spec'] {
  return {
    nodeSelector: typeof where === 'string' ? { 'slicer/hostgroup': where } : where,
    terminationGracePeriodSeconds: 0,
    containers: [{ name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu, memory: '64Mi' } } }],
    ...extra,
  };
}

/** A ReplicaSet `web` of pods that each fill most of one node where `where` says. */
export class Workload {
  private readonly k = kubeClients();
  private replicas = 0;

  constructor(
    private readonly p: Product,
    private readonly where: Placement,
    private readonly cpu: string,
    private readonly name = 'web',
  ) {}

  async create(): Promise<void> {
    await this.k.apps.createNamespacedReplicaSet({
      namespace: this.p.ns,
      body: replicaSet(this.name, this.p.ns, 0, { spec: podSpec(this.where, this.cpu) }),
    });
  }

  async scale(replicas: number): Promise<void> {
    this.replicas = replicas;
    await this.k.apps.patchNamespacedReplicaSet(
      { name: this.name, namespace: this.p.ns, body: { spec: { replicas } } },
      merge,
    );
  }

  /** Running pods of this workload, terminating ones left out. */
  async running(): Promise<number> {
    const pods = await this.k.core.listNamespacedPod({ namespace: this.p.ns, labelSelector: `rs=${this.name}` });
    return pods.items.filter((x) => x.status?.phase === 'Running' && !x.metadata?.deletionTimestamp).length;
  }

  /** Waits until every replica runs, at most `timeoutMs`; says whether they did. */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.running()) === this.replicas) return true;
      await delay(250);
    }
    return false;
  }

  /**
   * Scales through `steps` one after another: each waits for its replicas to run (bounded) and then `dwellMs`,
   * so scale-downs of the step before overlap the scale-ups of the next. `onFirstScaleDown` runs right after the
   * first step that lowers the count (nodes are about to become unneeded).
   */
  async churn(
    steps: number[],
    opts: { dwellMs: number; stepTimeoutMs: number; onFirstScaleDown?: () => Promise<void> },
  ): Promise<void> {
    let hook = opts.onFirstScaleDown;
    for (const n of steps) {
      const down = n < this.replicas;
      await this.scale(n);
      if (down && hook) {
        await hook();
        hook = undefined;
      }
      const started = Date.now();
      const ok = await this.settled(opts.stepTimeoutMs);
      timeline.push(`${this.name}=${n} in ${((Date.now() - started) / 1000).toFixed(1)}s${ok ? '' : '!'}`);
      await delay(opts.dwellMs);
    }
  }
}

/**
 * A node of `where` that runs no `web` pod and is not being removed (the planner's next candidate for removal), or
 * else the one with the fewest pods; undefined when there is no Ready node.
 */
export async function emptiestNode(p: Product, where: Placement): Promise<string | undefined> {
  const { core } = kubeClients();
  const selector = typeof where === 'string' ? { 'slicer/hostgroup': where } : where;
  const nodes = (await p.nodes()).filter(
    (n) =>
      Object.entries(selector).every(([k, v]) => n.metadata?.labels?.[k] === v) &&
      !n.spec?.unschedulable &&
      !n.spec?.taints?.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute') &&
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  const pods = (await core.listNamespacedPod({ namespace: p.ns })).items;
  const on = (node: string, rs?: string) =>
    pods.filter((x) => x.spec?.nodeName === node && (rs === undefined || x.metadata?.labels?.['rs'] === rs)).length;
  return nodes
    .map((n) => n.metadata!.name!)
    .sort((a, b) => on(a, 'web') - on(b, 'web') || on(a) - on(b) || (a < b ? -1 : 1))[0];
}

/**
 * One pod of each kind the planner protects from eviction (a bare pod, safe-to-evict "false", local storage, a
 * kube-system pod without a PDB) and two behind a PDB that allows no disruption, 50m CPU each, all bound to one
 * node: `node`, or the emptiest one (`emptiestNode`) — placed right as nodes become unneeded, that is the node the
 * planner is about to remove, so its drain must find them and stand back. `batch` names them apart. Returns a
 * cleanup for what lives outside the test namespace.
 */
export async function protectedPods(
  p: Product,
  where: Placement,
  monitor: Monitor,
  batch = 'a',
  node?: string,
): Promise<() => Promise<void>> {
  const { core, apps, policy } = kubeClients();
  const target = node ?? (await emptiestNode(p, where));
  // Bound by name, as a scheduler would: all on one node, so one batch holds back one node, not every node.
  const placed = target ? { nodeName: target } : {};
  const small = (labels: Record<string, string>, extra: Partial<NonNullable<V1Pod['spec']>> = {}) => ({
    labels,
    spec: podSpec(where, '50m', { ...placed, ...extra }),
  });
  const rsName = `sys-${p.cluster}-${batch}`;
  await core.createNamespacedPod({
    namespace: p.ns,
    body: {
      metadata: { name: `bare-${batch}`, namespace: p.ns, labels: { [PROTECTED_LABEL]: 'bare' } },
      spec: podSpec(where, '50m', placed),
    },
  });
  await apps.createNamespacedReplicaSet({
    namespace: p.ns,
    body: replicaSet(`pinned-${batch}`, p.ns, 1, {
      ...small({ [PROTECTED_LABEL]: 'not-safe-to-evict' }),
      annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
    }),
  });
  await apps.createNamespacedReplicaSet({
    namespace: p.ns,
    body: replicaSet(
      `scratch-${batch}`,
      p.ns,
      1,
      small({ [PROTECTED_LABEL]: 'local-storage' }, { volumes: [{ name: 'scratch', emptyDir: {} }] }),
    ),
  });
  await apps.createNamespacedReplicaSet({
    namespace: 'kube-system',
    body: replicaSet(rsName, 'kube-system', 1, small({ [PROTECTED_LABEL]: 'kube-system-without-pdb' })),
  });
  await apps.createNamespacedReplicaSet({
    namespace: p.ns,
    body: replicaSet(`guarded-${batch}`, p.ns, 2, small({ [GUARDED_LABEL]: 'true' })),
  });
  await policy.createNamespacedPodDisruptionBudget({
    namespace: p.ns,
    body: {
      metadata: { name: `guarded-${batch}`, namespace: p.ns },
      spec: { minAvailable: 2, selector: { matchLabels: { rs: `guarded-${batch}` } } },
    },
  });
  return async () => {
    // The ReplicaSet goes first so it makes no new pod; its pods' going is the test's doing.
    const pods = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: `rs=${rsName}` });
    for (const pod of pods.items) monitor.expectGone('kube-system', pod.metadata!.name!);
    await apps.deleteNamespacedReplicaSet({ name: rsName, namespace: 'kube-system' }).catch(() => undefined);
    for (const pod of pods.items)
      await core
        .deleteNamespacedPod({ name: pod.metadata!.name!, namespace: 'kube-system', gracePeriodSeconds: 0 })
        .catch(() => undefined);
  };
}

/**
 * The workloads of a scenario: `web` (pods of 1400m, one per 2-CPU node) and `filler` (two pods of 150m behind a
 * PDB that lets one go at a time), so removing a node means evicting something and drains take a moment. One web
 * pod, both filler pods and a batch of protected pods fill one node exactly.
 */
export async function workloads(p: Product, where: Placement): Promise<{ web: Workload; filler: Workload }> {
  const web = new Workload(p, where, '1400m');
  await web.create();
  const filler = new Workload(p, where, '150m', 'filler');
  await filler.create();
  await kubeClients().policy.createNamespacedPodDisruptionBudget({
    namespace: p.ns,
    body: {
      metadata: { name: 'filler', namespace: p.ns },
      spec: { maxUnavailable: 1, selector: { matchLabels: { rs: 'filler' } } },
    },
  });
  await filler.scale(2);
  return { web, filler };
}

/**
 * How most scenarios begin: `web` at one replica, and a first batch of protected pods bound to its node. Returns
 * the cleanup to run at the end.
 */
export async function pinFirstNode(
  p: Product,
  where: Placement,
  monitor: Monitor,
  web: Workload,
  step: { dwellMs: number; stepTimeoutMs: number },
): Promise<() => Promise<void>> {
  await web.churn([1], step);
  const { core } = kubeClients();
  const [pod] = (await core.listNamespacedPod({ namespace: p.ns, labelSelector: 'rs=web' })).items;
  return protectedPods(p, where, monitor, 'a', pod?.spec?.nodeName);
}
