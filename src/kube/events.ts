import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { Verdict } from '../shared/plan-contract.js';

// Decisions as Kubernetes Events, with cluster-autoscaler's reasons where the meaning is the same, so `kubectl
// describe pod` says why a pod is pending and existing alerts on TriggeredScaleUp / NotTriggerScaleUp keep working.
// Events carry the involved object's UID: `kubectl describe` selects events by UID and shows none without it.
// Publishing is off the decision path: the planner's activity only enqueues; a background loop sends in batches,
// rate-limited, and forgets what it sent after a while (bounded).

export const EVENT_SOURCE = 'slicer-autoscaler';

export interface EventSpec {
  kind: 'Pod' | 'Node' | 'ConfigMap';
  namespace: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What an event needs to know about its object so `kubectl describe` finds it. */
export interface ObjectRef {
  uid: string;
  resourceVersion?: string;
}

/** Looks up an object's UID; undefined when the object is gone (its event is then dropped). */
export type ResolveObject = (e: EventSpec) => ObjectRef | undefined | Promise<ObjectRef | undefined>;

/** A pending pod's verdict as the event cluster-autoscaler would raise for it. */
export function podEvent(key: string, verdict: Verdict): EventSpec {
  const [namespace, name] = key.includes('/') ? (key.split('/', 2) as [string, string]) : ['default', key];
  if (verdict.kind === 'scale-up') {
    return {
      kind: 'Pod',
      namespace,
      name,
      type: 'Normal',
      reason: 'TriggeredScaleUp',
      message: `pod triggered scale-up of ${verdict.group}: ${verdict.message}`,
    };
  }
  if (verdict.kind === 'no-scale-up') {
    return {
      kind: 'Pod',
      namespace,
      name,
      type: 'Normal',
      reason: 'NotTriggerScaleUp',
      message: `pod didn't trigger scale-up (${verdict.reason}): ${verdict.message}`,
    };
  }
  return { kind: 'Pod', namespace, name, type: 'Normal', reason: 'ScaleUpPending', message: verdict.message };
}

/** A managed node's verdict; only decisions worth telling (removal, blocked) become events. */
export function nodeEvent(node: string, verdict: Verdict): EventSpec | undefined {
  if (verdict.kind === 'removable') {
    return {
      kind: 'Node',
      namespace: 'default',
      name: node,
      type: 'Normal',
      reason: 'ScaleDown',
      message: `marked for removal: ${verdict.message}`,
    };
  }
  if (verdict.kind === 'kept' && /^Blocked|Pdb|Disabled|NoPlaceToMovePods|Min/i.test(verdict.reason)) {
    return {
      kind: 'Node',
      namespace: 'default',
      name: node,
      type: 'Normal',
      reason: 'ScaleDownBlocked',
      message: `${verdict.reason}: ${verdict.message}`,
    };
  }
  return undefined;
}

/**
 * Every event a plan warrants. Give it the full plan's verdicts (every pending pod, every managed node), not the
 * capped ones recorded in history, so every pending pod gets its event.
 */
export function planEvents(plan: {
  pods: Record<string, Verdict>;
  nodes: Record<string, { verdict: Verdict }>;
}): EventSpec[] {
  const events: EventSpec[] = Object.entries(plan.pods).map(([key, v]) => podEvent(key, v));
  for (const [node, n] of Object.entries(plan.nodes)) {
    const e = nodeEvent(node, n.verdict);
    if (e) events.push(e);
  }
  return events;
}

/** Where cluster-autoscaler records events about itself: its status ConfigMap. */
export interface StatusObject {
  namespace: string;
  name: string;
}

/** cluster-autoscaler's ScaledUpGroup, recorded on the status ConfigMap when a scale-up starts. */
export function scaledUpGroupEvent(
  status: StatusObject,
  g: { group: string; from: number; to: number; max: number },
): EventSpec {
  return {
    kind: 'ConfigMap',
    ...status,
    type: 'Normal',
    reason: 'ScaledUpGroup',
    message: `Scale-up: setting group ${g.group} size to ${g.to} instead of ${g.from} (max: ${g.max})`,
  };
}

/** cluster-autoscaler's ScaleDownEmpty, recorded on the status ConfigMap when removal of an empty node starts. */
export function scaleDownEmptyEvent(status: StatusObject, node: string): EventSpec {
  return {
    kind: 'ConfigMap',
    ...status,
    type: 'Normal',
    reason: 'ScaleDownEmpty',
    message: `Scale-down: removing empty node "${node}"`,
  };
}

/** cluster-autoscaler's ScaleDownFailed, a Warning on the node whose removal failed. */
export function scaleDownFailedEvent(node: string, what: 'drain' | 'taint' | 'delete', detail: string): EventSpec {
  const prefix =
    what === 'drain'
      ? 'failed to drain and delete node'
      : what === 'taint'
        ? 'failed to mark the node as toBeDeleted/unschedulable'
        : 'failed to delete node';
  return {
    kind: 'Node',
    namespace: 'default',
    name: node,
    type: 'Warning',
    reason: 'ScaleDownFailed',
    message: `${prefix}: ${detail}`,
  };
}

/** The bounds of the publisher; README names them. */
export const EVENT_LIMITS = {
  /** Events waiting to be sent; more are dropped (and counted) rather than queued without end. */
  maxQueued: 1000,
  /** Sent events remembered for deduplication, least recently sent forgotten first. */
  maxRemembered: 10_000,
  /** A remembered event is sent again after this long: the apiserver's default event TTL is one hour. */
  rememberMs: 30 * 60_000,
  /** Sustained send rate and burst (token bucket), so a burst of decisions cannot flood the apiserver. */
  perSecond: 20,
  burst: 50,
  /** How often the background loop sends, and how many POSTs it has in flight at once. */
  flushEveryMs: 200,
  concurrency: 4,
} as const;

/** The publisher's bounds, overridable in tests. */
export type EventLimits = { [K in keyof typeof EVENT_LIMITS]: number };

export type EventResult = 'sent' | 'deduplicated' | 'dropped' | 'failed' | 'unresolved';

export interface EventPublisherOptions {
  resolve: ResolveObject;
  now?: () => number;
  onResult?: (result: EventResult, e: EventSpec) => void;
  limits?: Partial<EventLimits>;
}

function fingerprint(e: EventSpec): string {
  return `${e.kind}/${e.namespace}/${e.name}|${e.reason}|${e.message}`;
}

/**
 * Sends events in the background: `enqueue` never waits and never throws. Each distinct event (object, reason,
 * message) is sent once per `rememberMs`; the memory of sent events is an LRU of `maxRemembered` entries. The memory
 * is per worker; after a failover an event may be sent once more, which is harmless.
 */
export class EventPublisher {
  private readonly queue = new Map<string, EventSpec>();
  private readonly sent = new Map<string, number>();
  private readonly limits: EventLimits;
  private readonly now: () => number;
  private tokens: number;
  private refilledAt: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;

  constructor(
    private readonly core: CoreV1Api,
    private readonly opts: EventPublisherOptions,
  ) {
    this.limits = { ...EVENT_LIMITS, ...opts.limits };
    this.now = opts.now ?? Date.now;
    this.tokens = this.limits.burst;
    this.refilledAt = this.now();
  }

  /** Queues events for sending; returns at once. */
  enqueue(events: EventSpec[]): void {
    for (const e of events) {
      const key = fingerprint(e);
      const at = this.sent.get(key);
      if ((at !== undefined && this.now() - at < this.limits.rememberMs) || this.queue.has(key)) {
        this.opts.onResult?.('deduplicated', e);
        continue;
      }
      if (this.queue.size >= this.limits.maxQueued) {
        this.opts.onResult?.('dropped', e);
        continue;
      }
      this.queue.set(key, { ...e, message: e.message.slice(0, 1000) });
    }
  }

  /** Starts the background loop. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.flushing && this.queue.size > 0) {
        this.flushing = this.flush().finally(() => (this.flushing = undefined));
      }
    }, this.limits.flushEveryMs);
    this.timer.unref();
  }

  /** Stops the loop and sends what the rate limit allows of what is left (bounded by one flush). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }

  /** How many events wait, and how many sent ones are remembered (for tests and metrics). */
  sizes(): { queued: number; remembered: number } {
    return { queued: this.queue.size, remembered: this.sent.size };
  }

  /** Sends as many queued events as the token bucket allows now; returns how many were sent. */
  async flush(): Promise<number> {
    const elapsed = this.now() - this.refilledAt;
    this.tokens = Math.min(this.limits.burst, this.tokens + (elapsed / 1000) * this.limits.perSecond);
    this.refilledAt = this.now();
    const batch: [string, EventSpec][] = [];
    for (const entry of this.queue) {
      if (batch.length >= Math.floor(this.tokens)) break;
      batch.push(entry);
    }
    for (const [key] of batch) this.queue.delete(key);
    this.tokens -= batch.length;
    let sent = 0;
    for (let i = 0; i < batch.length; i += this.limits.concurrency) {
      const results = await Promise.all(batch.slice(i, i + this.limits.concurrency).map(([k, e]) => this.send(k, e)));
      sent += results.filter(Boolean).length;
    }
    return sent;
  }

  private remember(key: string): void {
    this.sent.delete(key);
    this.sent.set(key, this.now());
    while (this.sent.size > this.limits.maxRemembered) {
      const oldest = this.sent.keys().next().value as string;
      this.sent.delete(oldest);
    }
  }

  private async send(key: string, e: EventSpec): Promise<boolean> {
    try {
      const ref = await this.opts.resolve(e);
      if (!ref) {
        this.opts.onResult?.('unresolved', e);
        return false;
      }
      const at = new Date(this.now());
      const body: CoreV1Event = {
        metadata: { generateName: `${e.name}.`, namespace: e.namespace },
        involvedObject: {
          kind: e.kind,
          name: e.name,
          namespace: e.kind === 'Node' ? undefined : e.namespace,
          apiVersion: 'v1',
          uid: ref.uid,
          ...(ref.resourceVersion && { resourceVersion: ref.resourceVersion }),
        },
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: { component: EVENT_SOURCE },
        reportingComponent: EVENT_SOURCE,
        reportingInstance: EVENT_SOURCE,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      };
      await this.core.createNamespacedEvent({ namespace: e.namespace, body });
      this.remember(key);
      this.opts.onResult?.('sent', e);
      return true;
    } catch {
      // Events are advice; a refused one is dropped here and sent again if a later evaluation repeats it.
      this.opts.onResult?.('failed', e);
      return false;
    }
  }
}
