import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterChange } from '../kube/cluster-cache.js';

// Reaction time as an operator feels it: from this worker's informer seeing a pod turn Unschedulable to the Slicer
// create call for a VM that serves it returning. The pod's own condition time has one-second resolution, so the
// start is this worker's clock when the watch event arrived. One VM answers the oldest waiting pod of its group.

/** Unschedulable pods remembered at once; the oldest are forgotten first past this. */
export const MAX_TRACKED_PODS = 10_000;

function isUnschedulable(pod: V1Pod): boolean {
  return (
    pod.status?.conditions?.some(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    ) ?? false
  );
}

interface Waiting {
  since: number;
  /** The group a plan chose for it; set once. */
  group?: string;
}

/** Tracks waiting pods and hands out their wait when a VM of their group is created. */
export class ReactionTracker {
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly now: () => number = () => performance.timeOrigin + performance.now()) {}

  /** Feed from ClusterCache.subscribe. */
  onChange(change: ClusterChange): void {
    if (change.kind !== 'pod') return;
    const pod = change.object as V1Pod;
    if (change.verb === 'delete' || pod.spec?.nodeName) {
      this.waiting.delete(change.key);
      return;
    }
    if (!isUnschedulable(pod) || this.waiting.has(change.key)) return;
    this.waiting.set(change.key, { since: this.now() });
    if (this.waiting.size > MAX_TRACKED_PODS) this.waiting.delete(this.waiting.keys().next().value as string);
  }

  /** A plan chose `group` for these pods (`namespace/name`). */
  planned(pods: { key: string; group: string }[]): void {
    for (const p of pods) {
      const w = this.waiting.get(p.key);
      if (w && w.group === undefined) w.group = p.group;
    }
  }

  /**
   * A VM of `group` was created: the wait of the oldest pod planned for that group, in seconds, or undefined when
   * no such pod is waiting (an operator's scale-up, or the plan ran on another replica). The pod is then forgotten.
   */
  vmCreated(group: string): number | undefined {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [key, w] of this.waiting) {
      if (w.group === group && w.since < oldest) {
        oldest = w.since;
        oldestKey = key;
      }
    }
    if (oldestKey === undefined) return undefined;
    this.waiting.delete(oldestKey);
    return (this.now() - oldest) / 1000;
  }

  size(): number {
    return this.waiting.size;
  }
}
