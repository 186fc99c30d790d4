import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { PlanResult, Verdict } from '../shared/plan-contract.js';

// Decisions as Kubernetes Events, with cluster-autoscaler's reasons where the meaning is the same, so `kubectl
// describe pod` says why a pod is pending and existing alerts on TriggeredScaleUp / NotTriggerScaleUp keep working.

export const EVENT_SOURCE = 'slicer-autoscaler';

export interface EventSpec {
  kind: 'Pod' | 'Node';
  namespace: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

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

/** Every event a plan warrants. */
export function planEvents(plan: PlanResult): EventSpec[] {
  const events: EventSpec[] = Object.entries(plan.pods).map(([key, v]) => podEvent(key, v));
  for (const [node, n] of Object.entries(plan.nodes)) {
    const e = nodeEvent(node, n.verdict);
    if (e) events.push(e);
  }
  return events;
}

/**
 * Publishes events, once per object per distinct message: a decision repeated every evaluation is not repeated
 * as an event. The memory is per worker; after a failover an event may be sent once more, which is harmless.
 */
export class EventPublisher {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async publish(events: EventSpec[]): Promise<number> {
    let sent = 0;
    for (const e of events) {
      const key = `${e.kind}/${e.namespace}/${e.name}`;
      const fingerprint = `${e.reason}|${e.message}`;
      if (this.last.get(key) === fingerprint) continue;
      const at = this.now();
      const body: CoreV1Event = {
        metadata: { generateName: `${e.name}.`, namespace: e.namespace },
        involvedObject: {
          kind: e.kind,
          name: e.name,
          namespace: e.kind === 'Pod' ? e.namespace : undefined,
          apiVersion: 'v1',
        },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1000),
        source: { component: EVENT_SOURCE },
        reportingComponent: EVENT_SOURCE,
        reportingInstance: EVENT_SOURCE,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      };
      try {
        await this.core.createNamespacedEvent({ namespace: e.namespace, body });
        this.last.set(key, fingerprint);
        sent += 1;
      } catch {
        // Events are advice; a refused event must never fail an evaluation.
      }
    }
    return sent;
  }
}
