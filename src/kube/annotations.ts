import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Verdict } from '../shared/plan-contract.js';

/** The verdicts to write: every managed node's and every pending pod's (by `namespace/name`). */
export interface VerdictsView {
  nodes: Record<string, { verdict: Verdict }>;
  pods: Record<string, Verdict>;
}

// The last verdict on the objects themselves, so `kubectl describe node|pod` answers "why" without Temporal access:
//   slicer-autoscaler/scale-down: NotUnneededLongEnough 4m left      (managed Nodes)
//   slicer-autoscaler/scale-up: TooBigForEveryTemplate: requests ...  (pending Pods)
// Written off the decision path: the plan returns first, then a background writer patches, in bounded batches, only
// the objects whose value changed, and removes the annotation where it no longer applies.

export const SCALE_DOWN_ANNOTATION = 'slicer-autoscaler/scale-down';
export const SCALE_UP_ANNOTATION = 'slicer-autoscaler/scale-up';
/** Annotation values are for people; a long message is cut here. */
export const MAX_VALUE_LENGTH = 256;
/** Patches per batch; a plan that changes more objects is finished by the following batches. */
export const MAX_PATCHES_PER_BATCH = 50;
/** A value this writer sent is not sent again for this long, while the cache catches up with the patch. */
const RESEND_AFTER_MS = 30_000;

/** Times in messages change every evaluation; minutes are enough for "why", and change at most once a minute. */
export function coarsenTimes(text: string): string {
  return text.replace(/\b(\d+)m\d{2}s\b/g, (_m, min: string) => `${min}m`).replace(/\b\d+s\b/g, '<1m');
}

function cut(text: string): string {
  return text.length <= MAX_VALUE_LENGTH ? text : `${text.slice(0, MAX_VALUE_LENGTH - 1)}…`;
}

/** `NotUnneededLongEnough 4m left`, or `Reason: message` for verdicts without a countdown. */
export function verdictAnnotation(v: Verdict): string {
  const left = /\(([^()]+) left\)/.exec(v.message);
  if (left) return cut(`${v.reason} ${coarsenTimes(left[1]!)} left`);
  return cut(`${v.reason}: ${coarsenTimes(v.message)}`);
}

export interface AnnotationPatch {
  kind: 'Node' | 'Pod';
  namespace?: string;
  name: string;
  key: string;
  /** null removes the annotation. */
  value: string | null;
}

/**
 * What to change so the objects carry the plan's verdicts: managed nodes get the scale-down verdict, pods with a
 * recorded verdict the scale-up one; the annotation goes from nodes the plan no longer manages and from pods that
 * are no longer pending. A pending pod without a recorded verdict (beyond the plan's cap) keeps what it has.
 */
export function annotationPatches(
  plan: VerdictsView,
  pending: ReadonlySet<string>,
  nodes: readonly V1Node[],
  pods: readonly V1Pod[],
): AnnotationPatch[] {
  const patches: AnnotationPatch[] = [];
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const current = node.metadata?.annotations?.[SCALE_DOWN_ANNOTATION];
    const verdict = plan.nodes[name]?.verdict;
    const want = verdict ? verdictAnnotation(verdict) : null;
    if ((current ?? null) !== want) patches.push({ kind: 'Node', name, key: SCALE_DOWN_ANNOTATION, value: want });
  }
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    const current = pod.metadata?.annotations?.[SCALE_UP_ANNOTATION];
    const verdict = plan.pods[key];
    let want: string | null;
    if (verdict) want = verdictAnnotation(verdict);
    else if (pending.has(key)) continue;
    else want = null;
    if ((current ?? null) !== want)
      patches.push({ kind: 'Pod', namespace, name, key: SCALE_UP_ANNOTATION, value: want });
  }
  return patches;
}

/** The background writer: one batch at a time, always for the newest plan, never in the caller's way. */
export class ReasonAnnotations {
  private next: { plan: VerdictsView; pending: ReadonlySet<string> } | undefined;
  private running: Promise<void> | undefined;
  private readonly sent = new Map<string, { value: string | null; at: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly objects: { nodes(): readonly V1Node[]; pods(): readonly V1Pod[] },
    private readonly log: (line: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queues the plan's verdicts and returns at once; a plan queued while a batch runs replaces any older one. */
  afterPlan(plan: VerdictsView, pending: Iterable<string>): void {
    this.next = { plan, pending: new Set(pending) };
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves when everything queued so far is written (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const job = this.next;
      this.next = undefined;
      const all = annotationPatches(job.plan, job.pending, this.objects.nodes(), this.objects.pods());
      const fresh = all.filter((p) => {
        const last = this.sent.get(this.id(p));
        return !last || last.value !== p.value || this.now() - last.at > RESEND_AFTER_MS;
      });
      for (const p of fresh.slice(0, MAX_PATCHES_PER_BATCH)) await this.apply(p);
      // More than one batch's worth: the next round starts from the newest plan (or this one again).
      if (fresh.length > MAX_PATCHES_PER_BATCH) this.next ??= job;
      this.prune();
    }
  }

  private id(p: AnnotationPatch): string {
    return `${p.kind}/${p.namespace ?? ''}/${p.name}`;
  }

  private async apply(p: AnnotationPatch): Promise<void> {
    const body = { metadata: { annotations: { [p.key]: p.value } } };
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    try {
      if (p.kind === 'Node') await this.core.patchNode({ name: p.name, body }, merge);
      else await this.core.patchNamespacedPod({ name: p.name, namespace: p.namespace!, body }, merge);
      this.sent.set(this.id(p), { value: p.value, at: this.now() });
    } catch (err) {
      // Gone in the meantime is fine; anything else is advice lost, never a failed evaluation.
      if ((err as { code?: number }).code !== 404) this.log(`annotation on ${this.id(p)}: ${(err as Error).message}`);
    }
  }

  /** Forgets objects that no longer exist, so the memory is bounded by the cluster's size. */
  private prune(): void {
    if (this.sent.size < 1000) return;
    const live = new Set<string>();
    for (const n of this.objects.nodes()) live.add(`Node//${n.metadata?.name}`);
    for (const p of this.objects.pods()) live.add(`Pod/${p.metadata?.namespace}/${p.metadata?.name}`);
    for (const k of this.sent.keys()) if (!live.has(k)) this.sent.delete(k);
  }
}
