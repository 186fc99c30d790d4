import { admits, type Bin } from './cluster.js';
import { minutes, PodReason } from './reasons.js';
import type { PlannerInput, PodInfo, PodVerdict } from './types.js';
import { Fit, type World } from './world.js';

// Trusting the scheduler: kube-scheduler checks more than the planner models (volumes, ephemeral storage, ...).
// When it has said Unschedulable about a pod for longer than --trust-scheduler-after, while the planner finds
// room on a node the scheduler has had as long to try, the scheduler is right and the planner is missing
// something: the pod is planned as if that node did not fit it.

/** What the planner knows about a pod the scheduler keeps refusing although the planner finds it room. */
export interface Refusal {
  /** The first node the planner would have put it on. */
  node: string;
  /** For how long the scheduler has said Unschedulable. */
  forMs: number;
  /**
   * Groups with a node that joined while the pod waited, fits it in the planner's view and was refused anyway:
   * a new node of such a group would be refused too, so none is planned for this pod (no runaway scale-up).
   */
  refusedGroups: Map<string, string>;
}

/** Since when the scheduler has said the pod is Unschedulable. */
export function unschedulableSince(pod: PodInfo): number {
  return pod.unschedulableSince ?? pod.createdAt;
}

/** Decides, per evaluation, which pods the scheduler has refused for long enough and which nodes it has tried. */
export class SchedulerTrust {
  private readonly window: number;
  private readonly now: number;

  constructor(input: PlannerInput) {
    this.window = input.options.trustSchedulerAfterMs;
    this.now = input.now;
  }

  /** Unschedulable for at least the window (never, when the option is 0). */
  refusedLongEnough(pod: PodInfo): boolean {
    return this.window > 0 && this.now - unschedulableSince(pod) >= this.window;
  }

  /** A Node that has existed for the window: the scheduler has had time to try it. */
  tried(bin: Bin): boolean {
    return !bin.virtual && bin.createdAt !== undefined && this.now - bin.createdAt >= this.window;
  }

  /**
   * For a class of pods refused long enough that did not fit on untried nodes: the tried nodes the planner would
   * put them on, if any, as one Refusal per pod. The class shares where it fits; each pod has its own wait.
   */
  refusals(world: World, existing: Bin[], cls: PodInfo[]): Map<PodInfo, Refusal> {
    const out = new Map<PodInfo, Refusal>();
    const first = cls[0]!;
    if (!this.refusedLongEnough(first)) return out;
    const prof = world.profile(first);
    const fitting = existing.filter(
      (b) => this.tried(b) && admits(b, first) && world.check(first, b, prof) === Fit.Yes,
    );
    if (fitting.length === 0) return out;
    for (const pod of cls) {
      if (!this.refusedLongEnough(pod)) continue;
      const since = unschedulableSince(pod);
      const refusedGroups = new Map<string, string>();
      for (const b of fitting)
        if (b.group !== undefined && b.createdAt! > since && !refusedGroups.has(b.group))
          refusedGroups.set(b.group, b.name);
      out.set(pod, { node: fitting[0]!.name, forMs: this.now - since, refusedGroups });
    }
    return out;
  }
}

/**
 * A SchedulerRefusedFit message: the refusal first (verdict messages are cut at 240 characters on their way to
 * Temporal), then what was planned instead. `outcome` is the verdict the pod would have had anyway.
 */
export function describeRefusal(r: Refusal, outcome: PodVerdict): string {
  let text = `Unschedulable for ${minutes(r.forMs)} though it seems to fit on ${r.node}: planned as if it did not`;
  if (r.refusedGroups.size > 0) {
    const fresh = [...r.refusedGroups].map(([g, n]) => `${n} (${g})`).join(', ');
    const groups = [...r.refusedGroups.keys()].join(', ');
    text += `; ${fresh} joined since and was refused too: no more ${groups} nodes for it (the scheduler checks something the planner does not model)`;
  }
  // A refusal alone says it all; anything else says what was planned, or why nothing was.
  return outcome.reason === PodReason.SchedulerRefusedFit ? text : `${text}; ${outcome.message}`;
}
