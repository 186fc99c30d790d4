import { admits, templateBin, templateLabels, type Bin } from './cluster.js';
import type { ExpansionOption } from './expanders.js';
import { constraintKey, fitsIn } from './fit.js';
import type { GroupInfo, PodInfo } from './types.js';
import { Fit, type World } from './world.js';

// First-fit decreasing bin-packing, the estimator cluster-autoscaler uses: pods sorted largest first, each onto
// the first node with room, a new one when none has. For one resource it needs at most 11/9 of the optimal node
// count (plus one); with cpu, memory and pod slots together it is a heuristic, which is fine for a decision that
// is made again every evaluation. Inter-pod constraints and host ports are checked against the whole simulated
// cluster (World), so a new node is refused to a pod exactly when kube-scheduler would refuse it.

/** Pods grouped by `key` (scheduling equivalence), in first-fit-decreasing order of their first member. */
export function classes(pods: PodInfo[], key: (p: PodInfo) => string): PodInfo[][] {
  const byKey = new Map<string, PodInfo[]>();
  for (const p of pods) {
    const k = key(p);
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(p);
  }
  return [...byKey.values()];
}

/** Which bins a class may use beyond its own predicates; `key` names the rule so eligible lists can be shared. */
export type BinRule = { key: string; allows: (b: Bin) => boolean } | undefined;

/**
 * First-fit onto `bins` (placed through `world`); returns the classes, or what is left of them, that did not fit.
 * Within a class pods are identical and room only shrinks, so a bin that refused one for good (Fit.Never) refuses
 * the rest: one pointer per class keeps this linear. Bins refused only for now (pod affinity, topology spread) are
 * tried again for the next pod. Classes that differ only in requests share one pass of the label and taint checks.
 */
export function placeOn(
  world: World,
  bins: Bin[],
  podClasses: PodInfo[][],
  rule: (first: PodInfo) => BinRule,
  onPlaced: (pod: PodInfo, bin: Bin) => void,
): PodInfo[][] {
  const left: PodInfo[][] = [];
  const eligibleBy = new Map<string, Bin[]>();
  for (const cls of podClasses) {
    const first = cls[0]!;
    const r = rule(first);
    const k = r ? `${constraintKey(first)}|${r.key}` : constraintKey(first);
    let eligible = eligibleBy.get(k);
    if (!eligible) eligibleBy.set(k, (eligible = bins.filter((b) => admits(b, first) && (!r || r.allows(b)))));
    const prof = world.profile(first);
    let i = 0;
    const rest: PodInfo[] = [];
    for (const pod of cls) {
      let at = -1;
      for (let j = i; j < eligible.length; j++) {
        const fit = world.check(pod, eligible[j]!, prof);
        if (fit === Fit.Yes) {
          at = j;
          break;
        }
        if (fit === Fit.Never && j === i) i++;
      }
      if (at < 0) {
        rest.push(pod);
        continue;
      }
      world.place(pod, eligible[at]!);
      onPlaced(pod, eligible[at]!);
    }
    if (rest.length > 0) left.push(rest);
  }
  return left;
}

/** One group's answer to the pending pods: how many new nodes, which pods on each. */
export interface Estimate {
  option: ExpansionOption;
  placed: PodInfo[];
  /** The pods of each new node, in the order the nodes were opened. */
  nodes: PodInfo[][];
  /** Some pod's place depended on other pods (affinity, anti-affinity, spread): stale once the world changes. */
  readsWorld: boolean;
}

/**
 * Bin-packs pods onto new template nodes of one group, at most `maxNodes` of them, inside a trial on `world` that
 * is rolled back: the estimate changes nothing. `allowed` can keep a class away from this group.
 */
export function estimate(
  world: World,
  group: GroupInfo,
  podClasses: PodInfo[][],
  maxNodes: number,
  allowed: (cls: PodInfo[]) => boolean = () => true,
): Estimate {
  const mark = world.mark();
  const bins: Bin[] = [];
  const placed: PodInfo[] = [];
  let readsWorld = false;
  const probe = templateBin(group, `${group.name} (template)`);
  // New nodes share one label set: nothing writes to a bin's labels.
  const labels = templateLabels(group);
  for (const cls of podClasses) {
    const first = cls[0]!;
    if (!allowed(cls) || !admits(probe, first) || !fitsIn(first.requests, group.template.allocatable)) continue;
    const prof = world.profile(first);
    readsWorld ||= prof.readsWorld;
    let i = 0;
    for (const pod of cls) {
      let at = -1;
      for (let j = i; j < bins.length; j++) {
        const fit = world.check(pod, bins[j]!, prof);
        if (fit === Fit.Yes) {
          at = j;
          break;
        }
        if (fit === Fit.Never && j === i) i++;
      }
      if (at < 0) {
        if (bins.length >= maxNodes) break;
        const trial = world.mark();
        const fresh = world.addBin(templateBin(group, world.newName(group.name), labels));
        // An empty node of this group refuses it (its topology): so would the next one, and the rest of the class.
        if (world.check(pod, fresh, prof) !== Fit.Yes) {
          world.rollback(trial);
          break;
        }
        world.commit(trial);
        bins.push(fresh);
        at = bins.length - 1;
      }
      world.place(pod, bins[at]!);
      placed.push(pod);
    }
  }
  const nodes = bins.map((b) => [...b.pods]);
  const cap = group.template.allocatable;
  const used = (f: (b: Bin) => number, total: number) =>
    bins.length === 0 ? 0 : bins.reduce((n, b) => n + (total - f(b)), 0) / (total * bins.length);
  const option: ExpansionOption = {
    group,
    nodeCount: bins.length,
    podCount: placed.length,
    cpuUsed: used((b) => b.free.cpuMilli, cap.cpuMilli),
    memoryUsed: used((b) => b.free.memoryBytes, cap.memoryBytes),
  };
  world.rollback(mark);
  return { option, placed, nodes, readsWorld };
}
