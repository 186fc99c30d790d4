import { CoreV1Api, Watch, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';

// Records what happens to Nodes and Pods during a scenario, from the test's own list+watch on the real apiserver
// (never through the worker's fault proxy): every state a Node was in with the time it was seen, and every pod
// that went away. The invariants are judged from these records after the scenario.

/** What the invariants need of a Node at one moment. */
export interface NodeState {
  at: number;
  exists: boolean;
  ready: boolean;
  unschedulable: boolean;
  /** Carries cluster-autoscaler's ToBeDeletedByClusterAutoscaler taint. */
  toBeDeleted: boolean;
  /** Any NoSchedule or NoExecute taint (startup, not-ready, unreachable, ours): the scheduler places nothing new. */
  noSchedule: boolean;
  group?: string;
  hostname?: string;
  vmId?: string;
}

/** A pod that was deleted or started terminating, with who it was and where it ran. */
export interface PodGone {
  at: number;
  key: string;
  node?: string;
  labels: Record<string, string>;
  phase?: string;
}

const TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';

function nodeState(node: V1Node, at: number, exists: boolean): NodeState {
  const labels = node.metadata?.labels ?? {};
  const taints = node.spec?.taints ?? [];
  return {
    at,
    exists,
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    unschedulable: node.spec?.unschedulable ?? false,
    toBeDeleted: taints.some((t) => t.key === TO_BE_DELETED),
    noSchedule: taints.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
    group: labels['slicer/hostgroup'],
    hostname: labels['slicer/hostname'],
    vmId: labels['slicer-autoscaler/vm-id'],
  };
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/** One list+watch that re-lists after any break, reporting objects that vanished in the gap as deleted. */
class ListWatch<T extends { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }> {
  private readonly known = new Map<string, T>();
  private abort: AbortController | undefined;
  private stopped = false;
  /** Breaks of the watch, each healed by a re-list; what happened inside a gap is only seen as its outcome. */
  gaps = 0;

  constructor(
    private readonly watch: Watch,
    private readonly path: string,
    private readonly list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
    private readonly key: (o: T) => string,
    private readonly onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void,
  ) {}

  async start(): Promise<void> {
    const rv = await this.relist();
    await this.watchFrom(rv);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  private async relist(): Promise<string> {
    const res = await this.list();
    const seen = new Set<string>();
    for (const o of res.items) {
      const k = this.key(o);
      seen.add(k);
      const before = this.known.get(k);
      this.known.set(k, o);
      if (before?.metadata?.resourceVersion !== o.metadata?.resourceVersion)
        this.onEvent(before ? 'MODIFIED' : 'ADDED', o);
    }
    for (const [k, o] of this.known) {
      if (seen.has(k)) continue;
      this.known.delete(k);
      this.onEvent('DELETED', o);
    }
    return res.metadata?.resourceVersion ?? '';
  }

  private async watchFrom(rv: string): Promise<void> {
    this.abort = await this.watch.watch(
      this.path,
      { resourceVersion: rv, allowWatchBookmarks: true },
      (phase: string, obj: T) => {
        if (phase === 'BOOKMARK' || phase === 'ERROR') return;
        const k = this.key(obj);
        if (phase === 'DELETED') this.known.delete(k);
        else this.known.set(k, obj);
        this.onEvent(phase as 'ADDED' | 'MODIFIED' | 'DELETED', obj);
      },
      () => void this.restart(),
    );
    if (this.stopped) this.abort.abort();
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    this.gaps += 1;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const rv = await this.relist();
        await this.watchFrom(rv);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
      }
    }
  }
}

/** Node timelines and vanished pods of one scenario. */
export class ClusterRecorder {
  /** Every state each Node was seen in, oldest first. */
  readonly nodes = new Map<string, NodeState[]>();
  readonly podsGone: PodGone[] = [];
  private readonly terminating = new Set<string>();
  private readonly watches: ListWatch<V1Node | V1Pod>[];

  constructor(
    kc: KubeConfig,
    private readonly namespaces: string[],
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const watch = new Watch(kc);
    const nodes = new ListWatch<V1Node>(
      watch,
      '/api/v1/nodes',
      () => core.listNode(),
      (n) => n.metadata?.name ?? '',
      (type, n) => this.onNode(type, n),
    );
    const pods = new ListWatch<V1Pod>(
      watch,
      '/api/v1/pods',
      () => core.listPodForAllNamespaces(),
      podKey,
      (type, p) => this.onPod(type, p),
    );
    this.watches = [nodes, pods] as ListWatch<V1Node | V1Pod>[];
  }

  async start(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.start()));
  }

  stop(): void {
    for (const w of this.watches) w.stop();
  }

  /** How often a watch broke and had to re-list (a gap hides intermediate states, never final ones). */
  gaps(): number {
    return this.watches.reduce((n, w) => n + w.gaps, 0);
  }

  /** The last state of `node` seen at or before `at`, if any. */
  nodeAt(node: string, at: number): NodeState | undefined {
    const states = this.nodes.get(node) ?? [];
    let found: NodeState | undefined;
    for (const s of states) if (s.at <= at) found = s;
    return found;
  }

  private onNode(type: string, node: V1Node): void {
    const name = node.metadata?.name ?? '';
    const states = this.nodes.get(name) ?? [];
    states.push(nodeState(node, Date.now(), type !== 'DELETED'));
    this.nodes.set(name, states);
  }

  private onPod(type: string, pod: V1Pod): void {
    if (!this.namespaces.includes(pod.metadata?.namespace ?? '')) return;
    const key = podKey(pod);
    const gone = type === 'DELETED' || pod.metadata?.deletionTimestamp !== undefined;
    if (!gone || this.terminating.has(key)) {
      if (type === 'DELETED') this.terminating.delete(key);
      return;
    }
    if (type !== 'DELETED') this.terminating.add(key);
    this.podsGone.push({
      at: Date.now(),
      key,
      node: pod.spec?.nodeName,
      labels: pod.metadata?.labels ?? {},
      phase: pod.status?.phase,
    });
  }
}
