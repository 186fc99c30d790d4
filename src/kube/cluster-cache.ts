import {
  CoreV1Api,
  ListWatch,
  PolicyV1Api,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';

/** One object that changed, small enough to coalesce and send to the evaluator. */
export interface ClusterChange {
  kind: 'node' | 'pod' | 'pdb';
  verb: 'add' | 'update' | 'delete';
  /** `namespace/name` for pods and PDBs, the name for nodes. */
  key: string;
  object: KubernetesObject;
}

type Listener = (change: ClusterChange) => void;

const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * The worker's in-memory view of nodes, live pods and PodDisruptionBudgets, kept by list+watch informers from
 * start-up. Large objects stay here; workflows only ever see summaries. Informers that fail are restarted with
 * backoff, because client-node does not restart them on errors other than 410 Gone.
 */
export class ClusterCache {
  private readonly listeners = new Set<Listener>();
  private readonly informers: { name: string; informer: ListWatch<KubernetesObject> }[] = [];
  private stopped = false;
  private synced = false;
  private failures = 0;

  constructor(
    kc: KubeConfig,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const policy = kc.makeApiClient(PolicyV1Api);
    const watch = new Watch(kc);
    // Finished pods hold no resources and block nothing; leaving them out keeps the cache small.
    const livePods = 'status.phase!=Succeeded,status.phase!=Failed';
    this.add('node', new ListWatch<V1Node>('/api/v1/nodes', watch, () => core.listNode(), false));
    this.add(
      'pod',
      new ListWatch<V1Pod>(
        '/api/v1/pods',
        watch,
        () => core.listPodForAllNamespaces({ fieldSelector: livePods }),
        false,
        undefined,
        livePods,
      ),
    );
    this.add(
      'pdb',
      new ListWatch<V1PodDisruptionBudget>(
        '/apis/policy/v1/poddisruptionbudgets',
        watch,
        () => policy.listPodDisruptionBudgetForAllNamespaces(),
        false,
      ),
    );
  }

  private add<T extends KubernetesObject>(kind: ClusterChange['kind'], informer: ListWatch<T>): void {
    const generic = informer as unknown as ListWatch<KubernetesObject>;
    for (const verb of ['add', 'update', 'delete'] as const) {
      generic.on(verb, (object) => {
        const key = object.metadata?.namespace
          ? `${object.metadata.namespace}/${object.metadata.name}`
          : (object.metadata?.name ?? '');
        for (const listener of this.listeners) listener({ kind, verb, key, object });
      });
    }
    generic.on('error', (err) => {
      if (this.stopped) return;
      const wait = RESTART_BACKOFF_MS[Math.min(this.failures++, RESTART_BACKOFF_MS.length - 1)]!;
      this.log(`${kind} informer failed (${(err as Error)?.message ?? err}); restarting in ${wait} ms`);
      setTimeout(() => {
        if (!this.stopped)
          generic.start().then(
            () => (this.failures = 0),
            () => undefined,
          );
      }, wait).unref();
    });
    this.informers.push({ name: kind, informer: generic });
  }

  /** Lists everything once and starts watching; resolves when the cache is complete. */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.informer.start()));
    this.synced = true;
  }

  /** True once every informer has listed, until stop(). */
  isSynced(): boolean {
    return this.synced && !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.informer.stop()));
  }

  /** Calls `listener` for every change until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  nodes(): readonly V1Node[] {
    return this.get('node') as readonly V1Node[];
  }

  pods(): readonly V1Pod[] {
    return this.get('pod') as readonly V1Pod[];
  }

  pdbs(): readonly V1PodDisruptionBudget[] {
    return this.get('pdb') as readonly V1PodDisruptionBudget[];
  }

  private get(name: string): readonly KubernetesObject[] {
    return this.informers.find((i) => i.name === name)!.informer.list();
  }
}
