import { release, take, type Bin } from './cluster.js';
import { equivalenceKey, fitsIn } from './fit.js';
import { formatPort, portConflict } from './host-ports.js';
import { domainOf, PER_NODE_KEYS, SpreadCount, TermCount, termSelects, termSignature } from './topology.js';
import type { HostPort, PodAffinityTerm, PodInfo } from './types.js';

// The simulated cluster the planner places pods into: bins with their room, pods and host ports, and the topology
// counts that inter-pod affinity, anti-affinity and topology spread read. Scale-up tries each group's new nodes on a
// mark and rolls back; scale-down tries each drain the same way. Pods without such constraints only pay for the
// resource check: every count below is created on first use.

/** The outcome of checking a pod against a bin. */
export const Fit = {
  /** It fits. */
  Yes: 0,
  /** It does not, and will not in this scale-up pass: room, host ports and anti-affinity only get worse. */
  Never: 1,
  /** It does not now; more placed pods may change that (pod affinity, topology spread). */
  NotNow: 2,
} as const;
export type Fit = (typeof Fit)[keyof typeof Fit];

/** What a kind of pod needs from the world beyond room, computed once per pod class. */
export interface Profile {
  affinity: TermCount[];
  anti: TermCount[];
  spread: SpreadCount[];
  /** Anti-affinity terms of other pods that select this pod. */
  excludedBy: TermCount[];
  ports: HostPort[];
  /** Only room matters. */
  trivial: boolean;
  /** Where it fits depends on where other pods are (not only on one bin's room and ports). */
  readsWorld: boolean;
}

const TRIVIAL: Profile = Object.freeze({
  affinity: [],
  anti: [],
  spread: [],
  excludedBy: [],
  ports: [],
  trivial: true,
  readsWorld: false,
});

type Op = { kind: 'place'; pod: PodInfo; bin: Bin } | { kind: 'add'; bin: Bin } | { kind: 'remove'; bin: Bin };

// Why check() refused, for explain(): set on every refusal, read right after.
const Why = { Room: 0, Port: 1, Anti: 2, ExcludedBy: 3, AffinityKey: 4, Affinity: 5, SpreadKey: 6, Skew: 7 } as const;
type Why = (typeof Why)[keyof typeof Why];

/** The simulated cluster: bins, their pods and the topology counts, with trials that can be rolled back. */
export class World {
  readonly bins: Bin[];
  private readonly log: Op[] = [];
  private depth = 0;
  private readonly terms = new Map<string, TermCount>();
  private readonly termList: TermCount[] = [];
  private readonly spreads = new Map<string, SpreadCount>();
  private readonly spreadList: SpreadCount[] = [];
  /** Anti-affinity terms held by pods, counting the holders per domain. */
  private readonly holders = new Map<string, TermCount>();
  /** Label keys some holder's selector reads: pods that differ there are not interchangeable. */
  private readonly holderKeys = new Set<string>();
  private readonly profiles = new Map<string, Profile>();
  /** Pods by namespace with their bins (parallel arrays), built on first need: a count over one namespace skips the rest. */
  private byNamespace?: Map<string, { pods: PodInfo[]; bins: Bin[] }>;
  private why: Why = Why.Room;
  private whyIndex = 0;
  private names = 0;

  /**
   * `bins`: the nodes and VMs pods can be counted on (the array is the world's own from now on). `pending`: pods
   * that may be placed, so their anti-affinity is known from the start. `phantoms`: a template node of every group
   * that may still grow: for topology spread over a label a whole group shares (its name, zone, arch), such a
   * group is a domain before its first node exists, or a plan would put every new node in one domain.
   */
  constructor(
    bins: Bin[],
    pending: PodInfo[],
    private readonly phantoms: Bin[] = [],
    /** False when the caller knows no pod on the bins has anti-affinity: saves a pass over every pod. */
    anyAntiAffinity = true,
  ) {
    this.bins = bins;
    if (anyAntiAffinity) for (const b of bins) for (const p of b.pods) if (p.podAntiAffinity) this.holdTerms(p, b, 1);
    for (const p of pending) if (p.podAntiAffinity) for (const t of p.podAntiAffinity) this.holder(t);
  }

  private holder(t: PodAffinityTerm): TermCount {
    const sig = termSignature(t);
    let h = this.holders.get(sig);
    if (!h) {
      this.holders.set(sig, (h = new TermCount(t)));
      if (!t.selector || (Object.keys(t.selector.matchLabels).length === 0 && t.selector.matchExpressions.length === 0))
        this.holderKeys.add('');
      for (const k of Object.keys(t.selector?.matchLabels ?? {})) this.holderKeys.add(k);
      for (const r of t.selector?.matchExpressions ?? []) this.holderKeys.add(r.key);
    }
    return h;
  }

  private holdTerms(pod: PodInfo, bin: Bin, delta: number): void {
    for (const t of pod.podAntiAffinity!) this.holder(t).add(bin, delta);
  }

  /**
   * Equal for pods that fit exactly the same places: the equivalence key, plus the labels other pods'
   * anti-affinity reads when there is any.
   */
  classKey(pod: PodInfo): string {
    const base = equivalenceKey(pod);
    if (this.holders.size === 0) return base;
    const picked: (string | undefined)[] = [pod.namespace];
    for (const k of this.holderKeys) picked.push(pod.labels[k]);
    return `${base}|${JSON.stringify(picked)}`;
  }

  /** A unique name for a node that does not exist yet. */
  newName(group: string): string {
    this.names += 1;
    return `${group} (new node ${this.names})`;
  }

  /** Counts every pod of a namespace that is on a bin still in the world. */
  private countIn(namespace: string, add: (pod: PodInfo, bin: Bin) => void): void {
    if (!this.byNamespace) {
      this.byNamespace = new Map();
      for (const b of this.bins) for (const p of b.pods) this.indexPod(p, b);
    }
    const list = this.byNamespace.get(namespace);
    if (!list) return;
    for (let i = 0; i < list.pods.length; i++) if (!list.bins[i]!.gone) add(list.pods[i]!, list.bins[i]!);
  }

  private indexPod(pod: PodInfo, bin: Bin): void {
    let list = this.byNamespace!.get(pod.namespace);
    if (!list) this.byNamespace!.set(pod.namespace, (list = { pods: [], bins: [] }));
    list.pods.push(pod);
    list.bins.push(bin);
  }

  private unindexPod(pod: PodInfo, bin: Bin): void {
    const list = this.byNamespace!.get(pod.namespace);
    if (!list) return;
    // Undone in reverse order, so it is nearly always the last entry (not when the index was built mid-trial).
    for (let i = list.pods.length - 1; i >= 0; i--)
      if (list.pods[i] === pod && list.bins[i] === bin) {
        list.pods.splice(i, 1);
        list.bins.splice(i, 1);
        return;
      }
  }

  private termCount(t: PodAffinityTerm): TermCount {
    const sig = termSignature(t);
    let c = this.terms.get(sig);
    if (!c) {
      c = new TermCount(t);
      if (t.namespaces === 'all') {
        for (const b of this.bins) if (!b.gone) for (const p of b.pods) if (termSelects(t, p)) c.add(b, 1);
      } else {
        const count = c;
        for (const ns of t.namespaces)
          this.countIn(ns, (p, b) => {
            if (termSelects(t, p)) count.add(b, 1);
          });
      }
      this.terms.set(sig, c);
      this.termList.push(c);
    }
    return c;
  }

  private spreadCount(pod: PodInfo, i: number): SpreadCount {
    const c = pod.topologySpread![i]!;
    const sig = JSON.stringify([
      c,
      pod.namespace,
      c.nodeAffinityPolicy === 'Honor' ? [pod.nodeSelector, pod.requiredAffinity ?? null] : null,
      c.nodeTaintsPolicy === 'Honor' ? pod.tolerations : null,
    ]);
    let s = this.spreads.get(sig);
    if (!s) {
      s = new SpreadCount(c, pod);
      for (const b of this.bins) if (!b.gone) s.addBin(b, 1);
      // Spread counts pods of the pod's own namespace only.
      const count = s;
      this.countIn(pod.namespace, (p, b) => count.addPod(p, b, 1));
      if (!PER_NODE_KEYS.has(c.topologyKey))
        for (const probe of this.phantoms) {
          const d = s.domain(probe);
          if (d !== null) s.addPhantom(d);
        }
      this.spreads.set(sig, s);
      this.spreadList.push(s);
    }
    return s;
  }

  /** What the pod needs from the world; computed once per class key (see classKey). */
  profile(pod: PodInfo): Profile {
    // Most pods: nothing of their own and no anti-affinity anywhere. One shared answer, nothing to remember.
    if (this.holders.size === 0 && !pod.podAffinity && !pod.podAntiAffinity && !pod.topologySpread && !pod.hostPorts)
      return TRIVIAL;
    // Pods of one class key need the same things: one profile per class, not per pod (a drain asks per pod).
    const k = this.classKey(pod);
    let prof = this.profiles.get(k);
    if (prof) return prof;
    const affinity = (pod.podAffinity ?? []).map((t) => this.termCount(t));
    const anti = (pod.podAntiAffinity ?? []).map((t) => this.termCount(t));
    const spread = (pod.topologySpread ?? []).map((_, i) => this.spreadCount(pod, i));
    const excludedBy: TermCount[] = [];
    for (const h of this.holders.values()) if (termSelects(h.term, pod)) excludedBy.push(h);
    const ports = pod.hostPorts ?? [];
    const readsWorld = affinity.length + anti.length + spread.length + excludedBy.length > 0;
    prof = { affinity, anti, spread, excludedBy, ports, readsWorld, trivial: !readsWorld && ports.length === 0 };
    this.profiles.set(k, prof);
    return prof;
  }

  /** Whether where the pod may go depends on the topology key: its own terms, or anti-affinity of others. */
  dependsOn(pod: PodInfo, key: string): boolean {
    const prof = this.profile(pod);
    return (
      prof.affinity.some((t) => t.term.topologyKey === key) ||
      prof.anti.some((t) => t.term.topologyKey === key) ||
      prof.excludedBy.some((t) => t.term.topologyKey === key) ||
      prof.spread.some((s) => s.constraint.topologyKey === key)
    );
  }

  /** Whether `pod` (of profile `prof`) fits on `bin` now: room, host ports, affinity, anti-affinity, spread. */
  check(pod: PodInfo, bin: Bin, prof: Profile): Fit {
    if (!fitsIn(pod.requests, bin.free)) {
      this.why = Why.Room;
      return Fit.Never;
    }
    return prof.trivial ? Fit.Yes : this.constraints(pod, bin, prof);
  }

  private refuse(why: Why, index: number, fit: Fit): Fit {
    this.why = why;
    this.whyIndex = index;
    return fit;
  }

  private constraints(pod: PodInfo, bin: Bin, prof: Profile): Fit {
    if (prof.ports.length > 0 && portConflict(prof.ports, bin.ports)) return this.refuse(Why.Port, 0, Fit.Never);
    for (let i = 0; i < prof.anti.length; i++)
      if (prof.anti[i]!.in(bin) > 0) return this.refuse(Why.Anti, i, Fit.Never);
    for (let i = 0; i < prof.excludedBy.length; i++)
      if (prof.excludedBy[i]!.in(bin) > 0) return this.refuse(Why.ExcludedBy, i, Fit.Never);
    if (prof.affinity.length > 0) {
      let everywhere = true;
      for (let i = 0; i < prof.affinity.length; i++) {
        const a = prof.affinity[i]!;
        if (domainOf(bin, a.term.topologyKey) === undefined) return this.refuse(Why.AffinityKey, i, Fit.Never);
        if (a.in(bin) <= 0) everywhere = false;
      }
      // kube-scheduler lets the first pod of a group with affinity to itself go anywhere: no pod matches yet.
      if (
        !everywhere &&
        !(prof.affinity.every((a) => a.total === 0) && prof.affinity.every((a) => termSelects(a.term, pod)))
      )
        return this.refuse(
          Why.Affinity,
          prof.affinity.findIndex((a) => a.in(bin) <= 0),
          Fit.NotNow,
        );
    }
    for (let i = 0; i < prof.spread.length; i++) {
      const s = prof.spread[i]!;
      if (domainOf(bin, s.constraint.topologyKey) === undefined) return this.refuse(Why.SpreadKey, i, Fit.Never);
      const count = s.count(bin);
      // A domain that does not count yet would join with 0 pods: the minimum becomes 0 and the pod fits there.
      if (count === undefined) continue;
      if (count + (s.selects(pod) ? 1 : 0) - s.min() > s.constraint.maxSkew)
        return this.refuse(Why.Skew, i, Fit.NotNow);
    }
    return Fit.Yes;
  }

  /** Why `pod` does not fit on `bin`, in words, or undefined if it fits. */
  explain(pod: PodInfo, bin: Bin, prof = this.profile(pod)): string | undefined {
    if (this.check(pod, bin, prof) === Fit.Yes) return undefined;
    const i = this.whyIndex;
    switch (this.why) {
      case Why.Room:
        return 'not enough room';
      case Why.Port:
        return `host port ${formatPort(portConflict(prof.ports, bin.ports)!)} is taken`;
      case Why.Anti:
        return `pod anti-affinity: a pod it must avoid is in the same ${prof.anti[i]!.term.topologyKey} domain`;
      case Why.ExcludedBy:
        return `the pod anti-affinity of a pod in the same ${prof.excludedBy[i]!.term.topologyKey} domain excludes it`;
      case Why.AffinityKey:
        return `pod affinity needs a ${prof.affinity[i]!.term.topologyKey} label, which the node lacks`;
      case Why.Affinity:
        return `pod affinity: no pod it must join is in the same ${prof.affinity[i]!.term.topologyKey} domain`;
      case Why.SpreadKey:
        return `topology spread needs a ${prof.spread[i]!.constraint.topologyKey} label, which the node lacks`;
      case Why.Skew: {
        const s = prof.spread[i]!;
        const skew = s.count(bin)! + (s.selects(pod) ? 1 : 0) - s.min();
        return `topology spread over ${s.constraint.topologyKey}: skew would be ${skew}, above maxSkew ${s.constraint.maxSkew}`;
      }
    }
  }

  private count(pod: PodInfo, bin: Bin, delta: number): void {
    for (const t of this.termList) if (termSelects(t.term, pod)) t.add(bin, delta);
    for (const s of this.spreadList) s.addPod(pod, bin, delta);
    if (pod.podAntiAffinity) this.holdTerms(pod, bin, delta);
  }

  /** Puts a pod on a bin: its room, its host ports and every count. */
  place(pod: PodInfo, bin: Bin): void {
    take(bin, pod);
    bin.pods.push(pod);
    if (pod.hostPorts) bin.ports.push(...pod.hostPorts);
    if (this.byNamespace) this.indexPod(pod, bin);
    this.count(pod, bin, 1);
    if (this.depth > 0) this.log.push({ kind: 'place', pod, bin });
  }

  /** Adds a node that does not exist yet (in flight or planned). */
  addBin(bin: Bin): Bin {
    this.bins.push(bin);
    for (const s of this.spreadList) s.addBin(bin, 1);
    for (const p of bin.pods) this.count(p, bin, 1);
    if (this.depth > 0) this.log.push({ kind: 'add', bin });
    return bin;
  }

  /** Takes a node and all its pods out (a drain): it is no destination and none of its pods count any more. */
  removeBin(bin: Bin): void {
    bin.gone = true;
    for (const p of bin.pods) this.count(p, bin, -1);
    for (const s of this.spreadList) s.addBin(bin, -1);
    if (this.depth > 0) this.log.push({ kind: 'remove', bin });
  }

  /** Starts a trial; every change after it can be undone with rollback(mark). Trials nest. */
  mark(): number {
    this.depth += 1;
    return this.log.length;
  }

  /** Undoes every change since `mark` and ends that trial. */
  rollback(mark: number): void {
    while (this.log.length > mark) {
      const op = this.log.pop()!;
      if (op.kind === 'place') {
        this.count(op.pod, op.bin, -1);
        release(op.bin, op.pod);
        op.bin.pods.pop();
        if (this.byNamespace) this.unindexPod(op.pod, op.bin);
        if (op.pod.hostPorts) op.bin.ports.length -= op.pod.hostPorts.length;
      } else if (op.kind === 'add') {
        for (const p of op.bin.pods) this.count(p, op.bin, -1);
        for (const s of this.spreadList) s.addBin(op.bin, -1);
        this.bins.pop();
      } else {
        op.bin.gone = false;
        for (const s of this.spreadList) s.addBin(op.bin, 1);
        for (const p of op.bin.pods) this.count(p, op.bin, 1);
      }
    }
    this.depth -= 1;
  }

  /** Keeps every change since `mark` and ends that trial. */
  commit(mark: number): void {
    this.depth -= 1;
    if (this.depth === 0) this.log.length = 0;
    else if (mark > this.log.length) throw new Error('world: commit of a mark that was rolled back');
  }
}
