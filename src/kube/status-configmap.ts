import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { GroupSummary, NodeCounts, PlanSummary } from '../metrics/plan-summary.js';
import type { ObjectRef } from './events.js';

// cluster-autoscaler's status ConfigMap: the same name, the same `status` key holding YAML in the layout of its
// clusterstate/api types (time, autoscalerStatus, clusterWide, nodeGroups), and the same last-updated annotation,
// so runbooks and tools that read it keep working. Written off the decision path, at most once per interval.

/** cluster-autoscaler's status ConfigMap name, so existing runbooks (`kubectl -n kube-system get cm ...`) keep working. */
export const STATUS_CONFIGMAP = 'cluster-autoscaler-status';
/** cluster-autoscaler's annotation with the time of the last write. */
export const LAST_UPDATED_ANNOTATION = 'cluster-autoscaler.kubernetes.io/last-updated';
/** cluster-autoscaler's bound on the YAML (etcd's 1 MB value limit with a margin); node groups are cut to fit. */
export const MAX_STATUS_BYTES = 1_000_000;
/** At most one write per this interval; cluster-autoscaler writes once per 10 s loop. */
export const STATUS_WRITE_INTERVAL_MS = 5_000;

/** Go's `2006-01-02 15:04:05.999999999 -0700 MST` in UTC, the format of cluster-autoscaler's `time` and annotation. */
export function caTime(d: Date): string {
  const iso = d.toISOString(); // 2026-01-01T12:00:00.120Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}

/** metav1.Time as it serializes: RFC 3339 to the second. */
function metaTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Remembers since when each condition has had its status, for `lastTransitionTime`. Per worker, like CA's. */
export class Transitions {
  private readonly since = new Map<string, { status: string; at: number }>();

  at(key: string, status: string, now: number): number {
    const prev = this.since.get(key);
    if (prev && prev.status === status) return prev.at;
    this.since.set(key, { status, at: now });
    return now;
  }
}

function nodeCounts(c: NodeCounts) {
  return {
    registered: {
      total: c.total,
      ready: c.ready,
      notStarted: c.notStarted,
      ...(c.beingDeleted > 0 && { beingDeleted: c.beingDeleted }),
      unready: { total: c.unready, resourceUnready: 0 },
    },
    longUnregistered: c.longUnregistered,
    unregistered: c.unregistered,
  };
}

function condition(t: Transitions, key: string, status: string, now: number) {
  return { status, lastProbeTime: metaTime(now), lastTransitionTime: metaTime(t.at(key, status, now)) };
}

function scaleDown(t: Transitions, key: string, candidates: number, now: number) {
  const status = candidates > 0 ? 'CandidatesPresent' : 'NoCandidates';
  const c = condition(t, key, status, now);
  return {
    status,
    ...(candidates > 0 && { candidates }),
    lastProbeTime: c.lastProbeTime,
    lastTransitionTime: c.lastTransitionTime,
  };
}

function groupStatus(t: Transitions, g: GroupSummary, now: number) {
  const health = condition(t, `${g.name}.health`, g.healthy ? 'Healthy' : 'Unhealthy', now);
  const up = condition(t, `${g.name}.scaleUp`, g.scaleUp, now);
  return {
    name: g.name,
    health: {
      status: health.status,
      nodeCounts: nodeCounts(g.counts),
      cloudProviderTarget: g.target,
      minSize: g.min,
      maxSize: g.max,
      lastProbeTime: health.lastProbeTime,
      lastTransitionTime: health.lastTransitionTime,
    },
    scaleUp: {
      status: up.status,
      ...(g.backoffUntil !== undefined && {
        backoffInfo: {
          errorCode: 'FailedScaleUp',
          errorMessage: `a scale-up of ${g.name} failed; no new scale-up before ${new Date(g.backoffUntil).toISOString()}`,
        },
      }),
      lastProbeTime: up.lastProbeTime,
      lastTransitionTime: up.lastTransitionTime,
    },
    scaleDown: scaleDown(t, `${g.name}.scaleDown`, g.scaleDownCandidates, now),
  };
}

/** Most important first when groups must be cut: unhealthy, backoff, scaling up, scale-down candidates (as CA). */
function importance(g: GroupSummary): number {
  if (!g.healthy) return 0;
  if (g.scaleUp === 'Backoff') return 1;
  if (g.scaleUp === 'InProgress' || g.scaleUp === 'Needed') return 2;
  return g.scaleDownCandidates > 0 ? 3 : 4;
}

/** The `status` YAML in cluster-autoscaler's layout; `summary` undefined means still initializing. */
export function renderStatus(
  summary: PlanSummary | undefined,
  transitions: Transitions,
  now: Date,
  maxBytes = MAX_STATUS_BYTES,
): string {
  const ms = now.getTime();
  if (!summary) return stringify({ time: caTime(now), autoscalerStatus: 'Initializing' });
  const health = condition(transitions, 'cluster.health', summary.healthy ? 'Healthy' : 'Unhealthy', ms);
  const base = {
    time: caTime(now),
    autoscalerStatus: 'Running',
    clusterWide: {
      health: {
        status: health.status,
        nodeCounts: nodeCounts(summary.counts),
        lastProbeTime: health.lastProbeTime,
        lastTransitionTime: health.lastTransitionTime,
      },
      scaleUp: condition(transitions, 'cluster.scaleUp', summary.scaleUp, ms),
      scaleDown: scaleDown(transitions, 'cluster.scaleDown', summary.scaleDownCandidates, ms),
    },
  };
  const groups = [...summary.groups]
    .sort((a, b) => importance(a) - importance(b) || a.name.localeCompare(b.name))
    .map((g) => groupStatus(transitions, g, ms));
  const render = (n: number) =>
    stringify({
      ...base,
      ...(n < groups.length && { message: `node groups cut to ${n} of ${groups.length} to fit ${maxBytes} bytes` }),
      nodeGroups: groups.slice(0, n),
    });
  const full = render(groups.length);
  if (Buffer.byteLength(full) <= maxBytes) return full;
  // Binary search for the most groups that fit, as cluster-autoscaler does.
  let lo = 0;
  let hi = groups.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(render(mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return render(lo);
}

export interface StatusWriterOptions {
  namespace: string;
  /** Minimum time between writes; @default STATUS_WRITE_INTERVAL_MS */
  intervalMs?: number;
  now?: () => number;
  onResult?: (result: 'written' | 'failed') => void;
  log?: (msg: string) => void;
}

/**
 * Writes the status ConfigMap in the background: `offer` keeps only the latest summary and returns at once; a write
 * happens at most once per interval. Also resolves the ConfigMap's UID for the events cluster-autoscaler records
 * on it (ScaledUpGroup, ScaleDownEmpty).
 */
export class StatusConfigMapWriter {
  private readonly transitions = new Transitions();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private latest: PlanSummary | undefined;
  private pending = false;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private known: ObjectRef | undefined;
  private stopped = false;

  constructor(
    private readonly core: CoreV1Api,
    private readonly opts: StatusWriterOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? STATUS_WRITE_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  get namespace(): string {
    return this.opts.namespace;
  }

  /** Writes `Initializing`, as cluster-autoscaler does at start; best effort. Later offers wait for it. */
  initialize(): Promise<void> {
    this.writing = this.write(undefined).finally(() => {
      this.writing = undefined;
      if (this.pending && !this.stopped) this.offer(this.latest!);
    });
    return this.writing;
  }

  /** Takes the newest summary; it is written within one interval. */
  offer(summary: PlanSummary): void {
    this.latest = summary;
    this.pending = true;
    if (this.timer || this.writing || this.stopped) return;
    const wait = Math.max(0, this.lastWriteAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.tick(), wait);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.pending || this.stopped || this.writing) return;
    this.pending = false;
    this.writing = this.write(this.latest).finally(() => {
      this.writing = undefined;
      if (this.pending && !this.stopped) this.offer(this.latest!);
    });
  }

  /** The ConfigMap's UID for events: from our last write, else read once. */
  async ref(): Promise<ObjectRef | undefined> {
    if (this.known) return this.known;
    try {
      const cm = await this.core.readNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace: this.opts.namespace });
      this.remember(cm);
    } catch {
      return undefined;
    }
    return this.known;
  }

  /** Stops writing; a write in progress finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  private remember(cm: V1ConfigMap): void {
    if (cm.metadata?.uid) this.known = { uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion };
  }

  /** Read, then update with the read resourceVersion (a concurrent writer makes it fail, not clobber) or create. */
  private async write(summary: PlanSummary | undefined): Promise<void> {
    const now = new Date(this.now());
    this.lastWriteAt = now.getTime();
    const { namespace } = this.opts;
    const status = renderStatus(summary, this.transitions, now);
    const stamp = caTime(now);
    try {
      let existing: V1ConfigMap | undefined;
      try {
        existing = await this.core.readNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      const written = existing
        ? await this.core.replaceNamespacedConfigMap({
            name: STATUS_CONFIGMAP,
            namespace,
            body: {
              ...existing,
              metadata: {
                ...existing.metadata,
                annotations: { ...existing.metadata?.annotations, [LAST_UPDATED_ANNOTATION]: stamp },
              },
              data: { ...existing.data, status },
            },
          })
        : await this.core.createNamespacedConfigMap({
            namespace,
            body: {
              metadata: { name: STATUS_CONFIGMAP, namespace, annotations: { [LAST_UPDATED_ANNOTATION]: stamp } },
              data: { status },
            },
          });
      this.remember(written);
      this.opts.onResult?.('written');
    } catch (err) {
      // Best effort, like cluster-autoscaler's: the next evaluation's write tries again.
      this.opts.onResult?.('failed');
      this.opts.log?.(`status ConfigMap ${namespace}/${STATUS_CONFIGMAP} not written: ${(err as Error).message}`);
    }
  }
}
