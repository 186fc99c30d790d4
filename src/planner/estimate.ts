import { admits, take, templateBin, templateLabels, type Bin } from './cluster.js';
import type { ExpansionOption } from './expanders.js';
import { constraintKey, equivalenceKey, fitsIn } from './fit.js';
import type { GroupInfo, PodInfo } from './types.js';

// First-fit decreasing bin-packing, the estimator cluster-autoscaler uses: pods sorted largest first, each onto
// the first node with room, a new one when none has. For one resource it needs at most 11/9 of the optimal node
// count (plus one); with cpu, memory and pod slots together it is a heuristic, which is fine for a decision that
// is made again every evaluation.

/** Pods grouped by scheduling equivalence, in first-fit-decreasing order of their first member. */
export function classes(pods: PodInfo[]): PodInfo[][] {
  const byKey = new Map<string, PodInfo[]>();
  for (const p of pods) {
    const k = equivalenceKey(p);
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(p);
  }
  return [...byKey.values()];
}

/**
 * First-fit onto `bins` (mutated); returns the classes, or what is left of them, that did not fit. Within a class
 * pods are identical and bins only fill up, so a bin that was too full once stays too full: one pointer per class
 * makes this linear. Classes that differ only in their requests share one pass of the label and taint checks.
 */
export function placeOn(bins: Bin[], podClasses: PodInfo[][], onPlaced: (pod: PodInfo, bin: Bin) => void): PodInfo[][] {
  const left: PodInfo[][] = [];
  const eligibleBy = new Map<string, Bin[]>();
  for (const cls of podClasses) {
    const first = cls[0]!;
    const constraints = constraintKey(first);
    let eligible = eligibleBy.get(constraints);
    if (!eligible) eligibleBy.set(constraints, (eligible = bins.filter((b) => admits(b, first))));
    let i = 0;
    const rest: PodInfo[] = [];
    for (const pod of cls) {
      while (i < eligible.length && !fitsIn(pod.requests, eligible[i]!.free)) i++;
      if (i < eligible.length) {
        take(eligible[i]!, pod);
        onPlaced(pod, eligible[i]!);
      } else rest.push(pod);
    }
    if (rest.length > 0) left.push(rest);
  }
  return left;
}

/** Bin-packs pods onto new template nodes of one group, at most `maxNodes` of them. */
export function estimate(
  group: GroupInfo,
  podClasses: PodInfo[][],
  maxNodes: number,
): { option: ExpansionOption; placed: PodInfo[] } {
  const bins: Bin[] = [];
  const placed: PodInfo[] = [];
  const probe = templateBin(group, `${group.name}-template`);
  // New nodes share one label set: nothing writes to a bin's labels.
  const labels = templateLabels(group);
  for (const cls of podClasses) {
    const first = cls[0]!;
    if (!admits(probe, first) || !fitsIn(first.requests, group.template.allocatable)) continue;
    let i = 0;
    for (const pod of cls) {
      while (i < bins.length && !fitsIn(pod.requests, bins[i]!.free)) i++;
      if (i === bins.length) {
        if (bins.length >= maxNodes) break;
        const free = { ...group.template.allocatable };
        bins.push({ name: `${group.name}-new-${bins.length}`, free, labels, taints: group.template.taints });
      }
      take(bins[i]!, pod);
      placed.push(pod);
    }
  }
  const cap = group.template.allocatable;
  const used = (f: (b: Bin) => number, total: number) =>
    bins.length === 0 ? 0 : bins.reduce((n, b) => n + (total - f(b)), 0) / (total * bins.length);
  return {
    option: {
      group,
      nodeCount: bins.length,
      podCount: placed.length,
      cpuUsed: used((b) => b.free.cpuMilli, cap.cpuMilli),
      memoryUsed: used((b) => b.free.memoryBytes, cap.memoryBytes),
    },
    placed,
  };
}
