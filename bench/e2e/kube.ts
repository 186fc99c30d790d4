import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, Watch, type V1Node, type V1Pod } from '@kubernetes/client-node';

// The benchmark's own view of the cluster: pods created directly (no controller's rate limit in the figure), a
// watch that timestamps each pod's Unschedulable / bound / Running moments and each Node's arrival, and waits.

export function kubeClients(kubeconfigPath: string): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

/** A pod requesting cpu and memory, optionally pinned to a node group or bound to a node. */
export function podSpec(
  name: string,
  namespace: string,
  opts: { cpu: string; memory: string; group?: string; nodeName?: string; labels?: Record<string, string> },
): V1Pod {
  return {
    metadata: { name, namespace, labels: { bench: 'e2e', ...opts.labels } },
    spec: {
      ...(opts.group && { nodeSelector: { 'slicer/hostgroup': opts.group } }),
      ...(opts.nodeName && { nodeName: opts.nodeName }),
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'app',
          image: 'registry.invalid/app:1',
          resources: { requests: { cpu: opts.cpu, memory: opts.memory } },
        },
      ],
    },
  };
}

/** Runs `fn` over `items` with at most `concurrency` at once. */
export async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Retries an apiserver call that failed for a reason worth retrying (throttled, busy, timed out). */
export async function retrying<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (i >= tries || (code !== undefined && code !== 429 && code < 500)) throw err;
      await delay(200 * i);
    }
  }
}

export async function createPods(core: CoreV1Api, pods: V1Pod[], concurrency = 32): Promise<void> {
  await inParallel(pods, concurrency, (body) =>
    retrying(() => core.createNamespacedPod({ namespace: body.metadata!.namespace!, body })),
  );
}

export interface PodTimes {
  createdMs?: number;
  unschedulableMs?: number;
  boundMs?: number;
  runningMs?: number;
  deletedMs?: number;
  node?: string;
  labels?: Record<string, string>;
}

function isUnschedulable(pod: V1Pod): boolean {
  return (
    pod.status?.conditions?.some(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    ) ?? false
  );
}

/**
 * Watches the pods of one namespace and the Nodes of the cluster, stamping when each pod was first seen
 * Unschedulable, bound and Running, and when each Node appeared and went away.
 */
export class ClusterWatch {
  readonly pods = new Map<string, PodTimes>();
  readonly nodes = new Map<string, { addedMs: number; deletedMs?: number; group?: string }>();
  private aborts: AbortController[] = [];
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    await this.watch(`/api/v1/namespaces/${this.namespace}/pods`, (type, pod: V1Pod) => {
      const name = pod.metadata!.name!;
      const t = this.pods.get(name) ?? {};
      this.pods.set(name, t);
      const now = Date.now();
      t.labels ??= pod.metadata?.labels;
      if (type === 'DELETED') {
        t.deletedMs ??= now;
        return;
      }
      if (t.unschedulableMs === undefined && isUnschedulable(pod)) t.unschedulableMs = now;
      if (t.boundMs === undefined && pod.spec?.nodeName) {
        t.boundMs = now;
        t.node = pod.spec.nodeName;
      }
      if (t.runningMs === undefined && pod.status?.phase === 'Running') t.runningMs = now;
    });
    await this.watch('/api/v1/nodes', (type, node: V1Node) => {
      const name = node.metadata!.name!;
      if (type === 'ADDED' && !this.nodes.has(name))
        this.nodes.set(name, { addedMs: Date.now(), group: node.metadata?.labels?.['slicer/hostgroup'] });
      if (type === 'DELETED') {
        const n = this.nodes.get(name);
        if (n) n.deletedMs = Date.now();
      }
    });
  }

  private async watch<T>(path: string, onEvent: (type: string, obj: T) => void): Promise<void> {
    const open = async (): Promise<void> => {
      if (this.stopped) return;
      const abort = await new Watch(this.kc).watch(
        path,
        {},
        (type: string, obj: T) => onEvent(type, obj),
        () => {
          // The apiserver closes watches now and then; a new one lists everything again as ADDED, which only
          // fills in stamps not set yet.
          if (!this.stopped) void delay(100).then(open);
        },
      );
      this.aborts.push(abort);
    };
    await open();
  }

  /** Marks a pod as created now (the watch's ADDED may come a moment later). */
  created(name: string, ms = Date.now()): void {
    const t = this.pods.get(name) ?? {};
    t.createdMs ??= ms;
    this.pods.set(name, t);
  }

  running(names: Iterable<string>): number {
    let n = 0;
    for (const name of names) if (this.pods.get(name)?.runningMs !== undefined) n++;
    return n;
  }

  /** Pods Running now (and not deleted), optionally only those with a label `key=value`. */
  runningNow(label?: [string, string]): number {
    let n = 0;
    for (const t of this.pods.values())
      if (t.runningMs !== undefined && t.deletedMs === undefined && (!label || t.labels?.[label[0]] === label[1])) n++;
    return n;
  }

  /** Nodes present now, optionally of some groups only. */
  liveNodes(groups?: string[]): number {
    let n = 0;
    for (const node of this.nodes.values())
      if (node.deletedMs === undefined && (!groups || groups.includes(node.group ?? ''))) n++;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
  }
}

/** Polls `fn` every `everyMs` until it returns something other than undefined/false. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await delay(everyMs);
  }
  throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
