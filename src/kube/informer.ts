import type { KubernetesObject, Watch } from '@kubernetes/client-node';

/** What an informer tells its listeners. */
export type InformerVerb = 'add' | 'update' | 'delete';

/** Restart waits after failures; the counter resets only after a watch stayed up for HEALTHY_AFTER_MS. */
const BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];
const HEALTHY_AFTER_MS = 30_000;

export interface InformerOptions<T extends KubernetesObject> {
  kind: string;
  path: string;
  watch: Watch;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  fieldSelector?: string;
  /** Drops what the autoscaler never reads (managedFields, container statuses, images) so the cache stays small. */
  slim: (obj: T) => T;
  onChange: (verb: InformerVerb, obj: T) => void;
  log: (msg: string) => void;
}

/**
 * One list+watch of one kind, kept in a map. Unlike client-node's ListWatch it knows whether it can be trusted:
 * `synced` only after a list succeeded, `connected` only while a watch is open. A failed list or watch is retried
 * with backoff (which resets only after the watch stayed up a while, so a watch that fails at once never spins),
 * and a 410 Gone lists again from scratch.
 */
export class Informer<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private resourceVersion = '';
  private stopped = false;
  private failures = 0;
  private connectedAt: number | undefined;
  private disconnectedAt: number | undefined = Date.now();
  private everListed = false;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstList: Promise<void>;
  private resolveFirstList!: () => void;
  lastError: string | undefined;

  constructor(private readonly opts: InformerOptions<T>) {
    this.firstList = new Promise((resolve) => (this.resolveFirstList = resolve));
  }

  /** Starts listing and watching; resolves once the first list succeeded (it retries until then). */
  start(): Promise<void> {
    this.stopped = false;
    void this.run();
    return this.firstList;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  /** A list has succeeded, so the map holds every object (possibly slightly stale). */
  get synced(): boolean {
    return this.everListed;
  }

  /** How long the watch has been down (0 while it is open). */
  downForMs(now = Date.now()): number {
    return this.connectedAt !== undefined ? 0 : now - (this.disconnectedAt ?? now);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  get size(): number {
    return this.objects.size;
  }

  private key(obj: T): string {
    return obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? '');
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.resourceVersion) await this.relist();
      await this.watchFrom(this.resourceVersion);
    } catch (err) {
      this.failed(err);
    }
  }

  private async relist(): Promise<void> {
    const list = await this.opts.list();
    const seen = new Set<string>();
    for (const raw of list.items) {
      const obj = this.opts.slim(raw);
      const k = this.key(obj);
      seen.add(k);
      const had = this.objects.has(k);
      this.objects.set(k, obj);
      this.opts.onChange(had ? 'update' : 'add', obj);
    }
    for (const [k, obj] of this.objects) {
      if (seen.has(k)) continue;
      this.objects.delete(k);
      this.opts.onChange('delete', obj);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!this.everListed) {
      this.everListed = true;
      this.resolveFirstList();
    }
  }

  private async watchFrom(resourceVersion: string): Promise<void> {
    const params: Record<string, string | boolean> = { resourceVersion, allowWatchBookmarks: true };
    if (this.opts.fieldSelector) params['fieldSelector'] = this.opts.fieldSelector;
    let ended = false;
    this.abort = await this.opts.watch.watch(
      this.opts.path,
      params,
      (phase: string, raw: T & { code?: number }) => {
        if (phase === 'ERROR') {
          // 410 Gone: our resourceVersion is too old; the watch ends and we list again.
          if (raw.code === 410) this.resourceVersion = '';
          return;
        }
        if (raw.metadata?.resourceVersion) this.resourceVersion = raw.metadata.resourceVersion;
        if (phase === 'BOOKMARK') return;
        const obj = this.opts.slim(raw);
        const k = this.key(obj);
        if (phase === 'DELETED') {
          this.objects.delete(k);
          this.opts.onChange('delete', obj);
        } else {
          const had = this.objects.has(k);
          this.objects.set(k, obj);
          this.opts.onChange(had ? 'update' : 'add', obj);
        }
      },
      (err: unknown) => {
        ended = true;
        this.watchEnded(err);
      },
    );
    if (this.stopped) this.abort.abort();
    // A refused watch (say 403, or 410 at once) has already ended and scheduled its retry.
    if (ended) return;
    this.connectedAt = Date.now();
    this.disconnectedAt = undefined;
    this.lastError = undefined;
  }

  private watchEnded(err: unknown): void {
    const upFor = this.connectedAt !== undefined ? Date.now() - this.connectedAt : 0;
    this.connectedAt = undefined;
    this.disconnectedAt ??= Date.now();
    if (this.stopped) return;
    if (upFor >= HEALTHY_AFTER_MS) this.failures = 0;
    const code = (err as { statusCode?: number; code?: number } | null)?.statusCode ?? (err as { code?: number })?.code;
    if (code === 410) this.resourceVersion = '';
    if (!err && upFor >= 1000) {
      // A normal close (the apiserver ends watches after a while): carry on at once from where we were.
      void this.run();
      return;
    }
    this.failed(err ?? new Error('the watch closed as soon as it opened'));
  }

  private failed(err: unknown): void {
    this.connectedAt = undefined;
    this.disconnectedAt ??= Date.now();
    if (this.stopped) return;
    const wait = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)]!;
    this.lastError = String((err as Error)?.message ?? err).slice(0, 300);
    this.opts.log(`${this.opts.kind} list/watch failed (${this.lastError}); retrying in ${wait} ms`);
    this.timer = setTimeout(() => void this.run(), wait);
    this.timer.unref();
  }
}
