import { compareText } from './cluster.js';
import { admits, podKey, take, templateBin, templateLabels, type Bin } from './cluster.js';
import { choose, type ExpansionOption } from './expanders.js';
import { equivalenceKey, fitsIn, selectorMatches, shortfall, untoleratedTaint } from './fit.js';
import { formatCpu, formatMemory } from './quantity.js';
import { PodReason } from './reasons.js';
import type { GroupInfo, PlannerInput, PodInfo, PodVerdict, ScaleUpDecision } from './types.js';

/** Pods that the scheduler could not place and that may warrant new nodes, largest first (first-fit decreasing). */
function pendingPods(input: PlannerInput, verdicts: Record<string, PodVerdict>): PodInfo[] {
  const { options, now } = input;
  const out: PodInfo[] = [];
  for (const p of input.pods) {
    if (!p.unschedulable || p.nodeName || p.deleting || p.phase !== 'Pending') continue;
    if (p.priority < options.expendablePodsPriorityCutoff) {
      verdicts[podKey(p)] = {
        kind: 'ignored',
        reason: PodReason.ExpendablePod,
        message: `priority ${p.priority} is below the expendable-pods cutoff ${options.expendablePodsPriorityCutoff}`,
      };
      continue;
    }
    const since = p.unschedulableSince ?? p.createdAt;
    if (now - since < options.newPodScaleUpDelayMs) {
      verdicts[podKey(p)] = {
        kind: 'ignored',
        reason: PodReason.TooYoung,
        message: `unschedulable for ${Math.round((now - since) / 1000)}s, less than the scale-up delay`,
      };
      continue;
    }
    out.push(p);
  }
  const decorated = out.map((p) => ({ p, cpu: p.requests.cpuMilli, mem: p.requests.memoryBytes, key: podKey(p) }));
  decorated.sort((a, b) => b.cpu - a.cpu || b.mem - a.mem || compareText(a.key, b.key));
  return decorated.map((d) => d.p);
}

/** Pods grouped by scheduling equivalence, in first-fit-decreasing order of their first member. */
function classes(pods: PodInfo[]): PodInfo[][] {
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
 * First-fit onto `bins` (mutated). Within a class pods are identical and bins only fill up, so a bin that was
 * too full once stays too full: one pointer per class makes this linear.
 */
function placeOn(bins: Bin[], pods: PodInfo[], onPlaced: (pod: PodInfo, bin: Bin) => void): PodInfo[] {
  const left: PodInfo[] = [];
  for (const cls of classes(pods)) {
    const eligible = bins.filter((b) => admits(b, cls[0]!));
    let i = 0;
    for (const pod of cls) {
      while (i < eligible.length && !fitsIn(pod.requests, eligible[i]!.free)) i++;
      if (i < eligible.length) {
        take(eligible[i]!, pod);
        onPlaced(pod, eligible[i]!);
      } else left.push(pod);
    }
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
  for (const cls of podClasses) {
    const first = cls[0]!;
    if (!admits(probe, first) || !fitsIn(first.requests, group.template.allocatable)) continue;
    let i = 0;
    for (const pod of cls) {
      while (i < bins.length && !fitsIn(pod.requests, bins[i]!.free)) i++;
      if (i === bins.length) {
        if (bins.length >= maxNodes) break;
        bins.push(templateBin(group, `${group.name}-new-${bins.length}`));
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

/** Same template on different Slicer hosts: what --balance-similar-node-groups spreads a scale-up across. */
function similar(a: GroupInfo, b: GroupInfo): boolean {
  const strip = (g: GroupInfo) => {
    const { ['slicer/hostgroup']: _omit, ...rest } = templateLabels(g);
    return JSON.stringify([g.template.allocatable, g.template.arch, g.template.taints, Object.entries(rest).sort()]);
  };
  return strip(a) === strip(b);
}

export interface ScaleUpResult {
  scaleUps: ScaleUpDecision[];
  /** Nodes each group will have after the plan: registered + in flight + planned. */
  plannedSize: Record<string, number>;
  /** Existing nodes that pending pods fit on. */
  awaited: Set<string>;
}

/** Decides which groups grow and by how much, and gives every pending pod a verdict. */
export function planScaleUp(
  input: PlannerInput,
  existingBins: Bin[],
  verdicts: Record<string, PodVerdict>,
): ScaleUpResult {
  const { groups, state, options, now } = input;
  const size: Record<string, number> = {};
  for (const g of groups)
    size[g.name] = input.nodes.filter((n) => n.group === g.name).length + (state.inFlight[g.name] ?? 0);
  const scaleUps: ScaleUpDecision[] = [];
  const awaited = new Set<string>();
  let pending = pendingPods(input, verdicts);
  if (state.paused) {
    for (const p of pending)
      verdicts[podKey(p)] = {
        kind: 'no-scale-up',
        reason: PodReason.AutoscalerPaused,
        message: 'the autoscaler is paused by an operator',
      };
    return { scaleUps, plannedSize: size, awaited };
  }

  pending = placeOn(existingBins, pending, (pod, bin) => {
    awaited.add(bin.name);
    verdicts[podKey(pod)] = {
      kind: 'fits-existing',
      reason: PodReason.FitsExistingNode,
      message: `fits on ${bin.name} (the scheduler has not placed it yet)`,
    };
  });
  const upcoming: Bin[] = groups.flatMap((g) =>
    Array.from({ length: state.inFlight[g.name] ?? 0 }, (_, i) =>
      templateBin(g, `${g.name} (VM ${i + 1} being created)`),
    ),
  );
  pending = placeOn(upcoming, pending, (pod, bin) => {
    verdicts[podKey(pod)] = {
      kind: 'fits-in-flight',
      reason: PodReason.FitsUpcomingNode,
      message: `will fit on ${bin.name}`,
      group: bin.labels['slicer/hostgroup'],
    };
  });

  const totalNodes = input.nodes.length + Object.values(state.inFlight).reduce((a, b) => a + b, 0);
  let totalRoom = options.maxNodesTotal > 0 ? options.maxNodesTotal - totalNodes : Infinity;
  const available = (g: GroupInfo) =>
    !state.pausedGroups.includes(g.name) && !((state.backoffUntil[g.name] ?? 0) > now);
  const room = (g: GroupInfo) => Math.max(0, Math.min(g.maxSize - size[g.name]!, totalRoom));
  const rnd = seededFrom(options.seed, now);

  let pendingClasses = classes(pending);
  while (pending.length > 0) {
    const candidates = groups
      .filter((g) => available(g) && room(g) > 0)
      .map((g) => estimate(g, pendingClasses, room(g)))
      .filter((e) => e.option.podCount > 0);
    const pick = choose(
      options.expander,
      candidates.map((c) => c.option),
      rnd,
    );
    if (!pick) break;
    const chosen = candidates.find((c) => c.option === pick)!;
    const split = balance(
      pick,
      groups.filter((g) => g !== pick.group && available(g) && room(g) > 0 && similar(g, pick.group)),
      options.balanceSimilarNodeGroups,
      size,
      room,
    );
    let podIndex = 0;
    for (const [group, count] of split) {
      const share = Math.ceil((chosen.placed.length * count) / pick.nodeCount);
      const pods = chosen.placed.slice(podIndex, podIndex + share);
      podIndex += share;
      size[group.name] = size[group.name]! + count;
      totalRoom -= count;
      const reason = `${chosen.placed.length} pending pod(s) fit on ${pick.nodeCount} new ${pick.group.name} node(s)${split.length > 1 ? `, balanced across ${split.map(([g, c]) => `${g.name} +${c}`).join(', ')}` : ''} (expander ${options.expander})`;
      scaleUps.push({ group: group.name, count, pods: pods.map(podKey), reason });
      for (const p of pods)
        verdicts[podKey(p)] = { kind: 'scale-up', reason: PodReason.ScaleUp, message: reason, group: group.name };
    }
    const placed = new Set(chosen.placed);
    pending = pending.filter((p) => !placed.has(p));
    pendingClasses = pendingClasses.map((cls) => cls.filter((p) => !placed.has(p))).filter((cls) => cls.length > 0);
  }

  for (const p of pending) verdicts[podKey(p)] = explainNoScaleUp(p, input, room, available);
  return { scaleUps, plannedSize: size, awaited };
}

/** Splits a scale-up over similar groups, each step to the group with the fewest nodes, within each one's room. */
function balance(
  pick: ExpansionOption,
  others: GroupInfo[],
  enabled: boolean,
  size: Record<string, number>,
  room: (g: GroupInfo) => number,
): [GroupInfo, number][] {
  if (!enabled || others.length === 0) return [[pick.group, pick.nodeCount]];
  const pool = [pick.group, ...others];
  const add = new Map(pool.map((g) => [g, 0]));
  for (let i = 0; i < pick.nodeCount; i++) {
    const next = pool
      .filter((g) => add.get(g)! < room(g))
      .sort((a, b) => size[a.name]! + add.get(a)! - (size[b.name]! + add.get(b)!) || compareText(a.name, b.name))[0];
    if (!next) break;
    add.set(next, add.get(next)! + 1);
  }
  return [...add.entries()].filter(([, n]) => n > 0);
}

/** The most specific reason why no group can take a pod. */
function explainNoScaleUp(
  pod: PodInfo,
  input: PlannerInput,
  room: (g: GroupInfo) => number,
  available: (g: GroupInfo) => boolean,
): PodVerdict {
  const no = (reason: string, message: string): PodVerdict => ({ kind: 'no-scale-up', reason, message });
  if (input.groups.length === 0) return no(PodReason.NoGroupFits, 'no node groups are configured');
  const why: string[] = [];
  const kinds = new Set<string>();
  let largest: { g: GroupInfo; short: NonNullable<ReturnType<typeof shortfall>> } | undefined;
  for (const g of input.groups) {
    if (!selectorMatches(pod, templateLabels(g))) {
      kinds.add('selector');
      why.push(`${g.name}: node selector/affinity does not match (arch ${g.template.arch})`);
      continue;
    }
    const taint = untoleratedTaint(pod, g.template.taints);
    if (taint) {
      kinds.add('taint');
      why.push(`${g.name}: taint ${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect} not tolerated`);
      continue;
    }
    const short = shortfall(pod.requests, g.template.allocatable);
    if (short) {
      kinds.add('size');
      if (
        !largest ||
        g.template.allocatable.cpuMilli + g.template.allocatable.memoryBytes / 2 ** 30 >
          largest.g.template.allocatable.cpuMilli + largest.g.template.allocatable.memoryBytes / 2 ** 30
      ) {
        largest = { g, short };
      }
      why.push(
        `${g.name}: too small (${formatCpu(g.template.allocatable.cpuMilli)}, ${formatMemory(g.template.allocatable.memoryBytes)})`,
      );
      continue;
    }
    if (input.state.pausedGroups.includes(g.name)) {
      kinds.add('paused');
      why.push(`${g.name}: paused by an operator`);
    } else if (!available(g)) {
      kinds.add('backoff');
      why.push(
        `${g.name}: in backoff after a failed scale-up until ${new Date(input.state.backoffUntil[g.name]!).toISOString()}`,
      );
    } else if (room(g) <= 0) {
      kinds.add('max');
      why.push(
        `${g.name}: at max-size ${g.maxSize}${input.options.maxNodesTotal ? ` (or the cluster at max-nodes-total ${input.options.maxNodesTotal})` : ''}`,
      );
    } else {
      kinds.add('max');
      why.push(`${g.name}: room left by this plan ran out`);
    }
  }
  const only = (k: string) => kinds.size === 1 && kinds.has(k);
  if (only('size') && largest) {
    const s = largest.short;
    const parts = [s.cpuMilli > 0 && `${formatCpu(s.cpuMilli)}`, s.memoryBytes > 0 && `${formatMemory(s.memoryBytes)}`]
      .filter(Boolean)
      .join(' and ');
    return no(
      PodReason.TooBigForEveryTemplate,
      `requests ${formatCpu(pod.requests.cpuMilli)} and ${formatMemory(pod.requests.memoryBytes)}; the largest template (${largest.g.name}: ${formatCpu(largest.g.template.allocatable.cpuMilli)}, ${formatMemory(largest.g.template.allocatable.memoryBytes)}) is ${parts} short`,
    );
  }
  if (only('selector'))
    return no(
      PodReason.NoGroupMatchesSelector,
      `no group's nodes would match its node selector or required affinity: ${why.join('; ')}`,
    );
  if (only('taint')) return no(PodReason.UntoleratedTaint, why.join('; '));
  const fitting = ['paused', 'backoff', 'max'].filter((k) => kinds.has(k));
  if (fitting.length > 0) {
    const reason = fitting.length === 1 && fitting[0] === 'max' ? PodReason.MaxSizeReached : PodReason.NoGroupAvailable;
    return no(reason, why.join('; '));
  }
  return no(PodReason.NoGroupFits, why.join('; '));
}

function seededFrom(seed: number, now: number) {
  // The evaluation time joins the seed so `random` varies between evaluations but not between replays.
  let a = (seed ^ Math.floor(now / 1000)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
