import {
  CoreV1Api,
  PolicyV1Api,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { Informer, type InformerVerb } from './informer.js';
import { LIST_PAGE_SIZE, listInPages } from './list-pages.js';
import { slimNode, slimPod } from './slim.js';

/** One object that changed, small enough to coalesce and send to the evaluator. */
export interface ClusterChange {
  kind: 'node' | 'pod' | 'pdb';
  verb: InformerVerb;
  /** `namespace/name` for pods and PDBs, the name for nodes. */
  key: string;
  object: KubernetesObject;
}

type Listener = (change: ClusterChange) => void;

/** A watch down for longer than this makes the cache stale: nothing is planned from it until it is back. */
export const MAX_WATCH_GAP_MS = 10_000;

/**
 * The worker's in-memory view of nodes, live pods and PodDisruptionBudgets, kept by list+watch informers. Large
 * objects stay here, slimmed to what the autoscaler reads; workflows only ever see summaries. It says whether it
 * may be trusted (`isSynced`): every kind listed at least once and every watch open (or down only briefly).
 * Planning from an incomplete view would see busy nodes as empty and drain them.
 */
export class ClusterCache {
  private readonly listeners = new Set<Listener>();
  private readonly nodeInformer: Informer<V1Node>;
  private readonly podInformer: Informer<V1Pod>;
  private readonly pdbInformer: Informer<V1PodDisruptionBudget>;

  constructor(
    kc: KubeConfig,
    private readonly log: (msg: string) => void = () => undefined,
    /** Objects per page of the initial lists (tests make it small). */
    pageSize = LIST_PAGE_SIZE,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const policy = kc.makeApiClient(PolicyV1Api);
    const watch = new Watch(kc);
    const emit = (kind: ClusterChange['kind']) => (verb: InformerVerb, object: KubernetesObject) => {
      const key = object.metadata?.namespace
        ? `${object.metadata.namespace}/${object.metadata.name}`
        : (object.metadata?.name ?? '');
      for (const listener of this.listeners) listener({ kind, verb, key, object });
    };
    // Finished pods hold no resources and block nothing; leaving them out keeps the cache small.
    const livePods = 'status.phase!=Succeeded,status.phase!=Failed';
    this.nodeInformer = new Informer<V1Node>({
      kind: 'node',
      path: '/api/v1/nodes',
      watch,
      list: () => listInPages((page) => core.listNode(page), slimNode, pageSize),
      slim: slimNode,
      onChange: emit('node'),
      log,
    });
    this.podInformer = new Informer<V1Pod>({
      kind: 'pod',
      path: '/api/v1/pods',
      watch,
      list: () =>
        listInPages((page) => core.listPodForAllNamespaces({ fieldSelector: livePods, ...page }), slimPod, pageSize),
      fieldSelector: livePods,
      slim: slimPod,
      onChange: emit('pod'),
      log,
    });
    const slimPdb = (pdb: V1PodDisruptionBudget) => ({
      ...pdb,
      metadata: { ...pdb.metadata, managedFields: undefined },
    });
    this.pdbInformer = new Informer<V1PodDisruptionBudget>({
      kind: 'pdb',
      path: '/apis/policy/v1/poddisruptionbudgets',
      watch,
      list: () => listInPages((page) => policy.listPodDisruptionBudgetForAllNamespaces(page), slimPdb, pageSize),
      slim: slimPdb,
      onChange: emit('pdb'),
      log,
    });
  }

  private get informers(): Informer<KubernetesObject>[] {
    return [this.nodeInformer, this.podInformer, this.pdbInformer] as Informer<KubernetesObject>[];
  }

  /**
   * Starts every informer; resolves when each has listed once, or after `timeoutMs` (the informers keep trying
   * in the background; `isSynced` says when they got there).
   */
  async start(timeoutMs = 30_000): Promise<boolean> {
    const all = Promise.all(this.informers.map((i) => i.start())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    for (const i of this.informers) i.stop();
  }

  /** Every kind listed at least once, and no watch down for more than MAX_WATCH_GAP_MS. */
  isSynced(now = Date.now()): boolean {
    return this.informers.every((i) => i.synced && i.downForMs(now) <= MAX_WATCH_GAP_MS);
  }

  /** Why the cache may not be trusted, for error messages and /readyz; undefined when it may. */
  staleness(now = Date.now()): string | undefined {
    const problems = this.informers.flatMap((i, n) => {
      const kind = ['nodes', 'pods', 'PodDisruptionBudgets'][n]!;
      if (!i.synced) return [`${kind} never listed${i.lastError ? ` (${i.lastError})` : ''}`];
      const down = i.downForMs(now);
      if (down > MAX_WATCH_GAP_MS)
        return [`${kind} watch down for ${Math.round(down / 1000)}s${i.lastError ? ` (${i.lastError})` : ''}`];
      return [];
    });
    return problems.length ? problems.join('; ') : undefined;
  }

  /** Calls `listener` for every change until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  nodes(): readonly V1Node[] {
    return this.nodeInformer.list();
  }

  pods(): readonly V1Pod[] {
    return this.podInformer.list();
  }

  pdbs(): readonly V1PodDisruptionBudget[] {
    return this.pdbInformer.list();
  }

  /** How many objects of each kind the cache holds. */
  counts(): { nodes: number; pods: number; pdbs: number } {
    return { nodes: this.nodeInformer.size, pods: this.podInformer.size, pdbs: this.pdbInformer.size };
  }
}
