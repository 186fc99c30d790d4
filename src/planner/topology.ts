import type { Bin } from './cluster.js';
import { labelSelectorMatches, normaliseArch, selectorMatches, untoleratedTaint } from './fit.js';
import type { PodAffinityTerm, PodInfo, SpreadConstraint } from './types.js';

// Counting pods per topology domain, as kube-scheduler's InterPodAffinity and PodTopologySpread filters do, over
// the planner's bins: real nodes, VMs being created and the new nodes of the plan. Counts change as pods are placed
// and removed in simulation; the World keeps them in step.

/** Labels that name one node: a node that does not exist yet is a domain of its own for them. */
export const PER_NODE_KEYS: ReadonlySet<string> = new Set(['kubernetes.io/hostname', 'slicer/hostname']);

/**
 * The bin's value for a topology key, or undefined if it has none. A VM that is not a Node yet has no hostname
 * label, but it will be a host of its own: it gets its bin name, which no label value can equal (see Bin.virtual).
 */
export function domainOf(bin: Bin, key: string): string | undefined {
  const v = bin.labels[key];
  if (v !== undefined) return key === 'kubernetes.io/arch' ? normaliseArch(v) : v;
  return bin.virtual && PER_NODE_KEYS.has(key) ? bin.name : undefined;
}

/** Whether an inter-pod term selects a pod: a namespace the term looks in, and labels its selector matches. */
export function termSelects(term: PodAffinityTerm, pod: PodInfo): boolean {
  if (term.namespaces !== 'all' && !term.namespaces.includes(pod.namespace)) return false;
  return labelSelectorMatches(term.selector, pod.labels);
}

const signatures = new WeakMap<object, string>();
/** Equal for terms that select the same pods by the same key, so their counts are kept once. */
export function termSignature(term: PodAffinityTerm): string {
  let s = signatures.get(term);
  if (s === undefined) signatures.set(term, (s = JSON.stringify([term.selector, term.namespaces, term.topologyKey])));
  return s;
}

/**
 * Pods per domain of one term's topology key. For a pod's own affinity and anti-affinity it counts the pods the
 * term selects; for the anti-affinity of pods already placed (which the newcomer must respect too) it counts the
 * pods holding the term.
 */
export class TermCount {
  readonly counts = new Map<string, number>();
  /** Sum over domains: pods on nodes that have the key. */
  total = 0;
  constructor(readonly term: PodAffinityTerm) {}

  add(bin: Bin, delta: number): void {
    const d = domainOf(bin, this.term.topologyKey);
    if (d === undefined) return;
    this.total += delta;
    this.counts.set(d, (this.counts.get(d) ?? 0) + delta);
  }

  in(bin: Bin): number {
    const d = domainOf(bin, this.term.topologyKey);
    return d === undefined ? 0 : (this.counts.get(d) ?? 0);
  }
}

interface Domain {
  bins: number;
  pods: number;
  /** A group that could get its first node in this plan: a domain before any of its nodes exist. */
  phantom: boolean;
}

/**
 * One topology spread constraint of one kind of pod: its matching pods per domain over the nodes that count
 * (those with the key that pass nodeAffinityPolicy and nodeTaintsPolicy), and the smallest count.
 */
export class SpreadCount {
  private readonly domains = new Map<string, Domain>();
  // A Map, not a WeakMap: bins outlive no plan, and Map lookups are several times faster.
  private readonly eligibility = new Map<Bin, string | null>();
  private cachedMin = 0;
  private dirty = true;

  /** `owner` is a pod with the constraint: its namespace, node selector, affinity and tolerations decide. */
  constructor(
    readonly constraint: SpreadConstraint,
    private readonly owner: PodInfo,
  ) {}

  /** The bin's domain if the bin counts for this constraint, else null. */
  domain(bin: Bin): string | null {
    // Nodes not made yet come and go by the hundred in estimates; for them the label-object cache is enough.
    if (bin.virtual) {
      const key = domainOf(bin, this.constraint.topologyKey);
      return key !== undefined && this.admits(bin) ? key : null;
    }
    let d = this.eligibility.get(bin);
    if (d !== undefined) return d;
    const key = domainOf(bin, this.constraint.topologyKey);
    d = key !== undefined && this.admits(bin) ? key : null;
    this.eligibility.set(bin, d);
    return d;
  }

  // New nodes of a group share one label object and one taint list: judge them once, not per node.
  private readonly admitted = new Map<object, boolean>();
  private admits(bin: Bin): boolean {
    let ok = bin.virtual ? this.admitted.get(bin.labels) : undefined;
    if (ok !== undefined) return ok;
    const c = this.constraint;
    ok =
      (c.nodeAffinityPolicy === 'Ignore' || selectorMatches(this.owner, bin.labels)) &&
      (c.nodeTaintsPolicy === 'Ignore' || untoleratedTaint(this.owner, bin.taints) === undefined);
    if (bin.virtual) this.admitted.set(bin.labels, ok);
    return ok;
  }

  /** Pods it counts: same namespace, selected, not terminating (kube-scheduler skips those). */
  selects(pod: PodInfo): boolean {
    return (
      pod.namespace === this.owner.namespace &&
      !pod.deleting &&
      labelSelectorMatches(this.constraint.selector, pod.labels)
    );
  }

  private entry(d: string): Domain {
    let e = this.domains.get(d);
    if (!e) this.domains.set(d, (e = { bins: 0, pods: 0, phantom: false }));
    return e;
  }

  addBin(bin: Bin, delta: number): void {
    const d = this.domain(bin);
    if (d === null) return;
    this.entry(d).bins += delta;
    this.dirty = true;
  }

  addPod(pod: PodInfo, bin: Bin, delta: number): void {
    const d = this.domain(bin);
    if (d === null || !this.selects(pod)) return;
    this.entry(d).pods += delta;
    this.dirty = true;
  }

  addPhantom(d: string): void {
    this.entry(d).phantom = true;
    this.dirty = true;
  }

  /** Matching pods in the bin's domain, or undefined if that domain does not count (yet). */
  count(bin: Bin): number | undefined {
    const d = this.domain(bin);
    const e = d === null ? undefined : this.domains.get(d);
    return e && (e.bins > 0 || e.phantom) ? e.pods : undefined;
  }

  /** The global minimum: 0 while there are fewer domains than minDomains (1 unless set). */
  min(): number {
    if (!this.dirty) return this.cachedMin;
    let n = 0;
    let min = Infinity;
    for (const e of this.domains.values()) {
      if (e.bins <= 0 && !e.phantom) continue;
      n++;
      if (e.pods < min) min = e.pods;
    }
    this.cachedMin = n < (this.constraint.minDomains ?? 1) ? 0 : min;
    this.dirty = false;
    return this.cachedMin;
  }
}
