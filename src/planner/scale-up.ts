import { balance, similar } from './balance.js';
import { compareText, podKey, templateBin, type Bin } from './cluster.js';
import { classes, estimate, placeOn } from './estimate.js';
import { choose, seededFrom } from './expanders.js';
import { explainNoScaleUp } from './explain.js';
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

/** What scale-up tells plan() and scale-down. */
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
  joiningBins: Bin[] = [],
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

  // Grouped once: every later step works on classes of identical pods, not on thousands of single pods.
  let pendingClasses = placeOn(existingBins, classes(pending), (pod, bin) => {
    awaited.add(bin.name);
    verdicts[podKey(pod)] = {
      kind: 'fits-existing',
      reason: PodReason.FitsExistingNode,
      message: `fits on ${bin.name} (the scheduler has not placed it yet)`,
    };
  });
  const upcoming: Bin[] = [
    ...joiningBins,
    ...groups.flatMap((g) =>
      Array.from({ length: state.inFlight[g.name] ?? 0 }, (_, i) =>
        templateBin(g, `${g.name} (VM ${i + 1} being created)`),
      ),
    ),
  ];
  pendingClasses = placeOn(upcoming, pendingClasses, (pod, bin) => {
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

  pending = pendingClasses.flat();
  // An estimate depends only on its group, its room and the pods it placed: pods it could not place come after
  // the point where it ran out of room, or never fit at all. So when a round's pick takes none of its pods and
  // leaves its room alone, last round's estimate still holds and is not packed again.
  const estimates = new Map<string, { room: number; result: ReturnType<typeof estimate> }>();
  const estimateFor = (g: GroupInfo) => {
    const r = room(g);
    const hit = estimates.get(g.name);
    if (hit && hit.room === r) return hit.result;
    const result = estimate(g, pendingClasses, r);
    estimates.set(g.name, { room: r, result });
    return result;
  };
  while (pending.length > 0) {
    const candidates = groups
      .filter((g) => available(g) && room(g) > 0)
      .map(estimateFor)
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
    for (const [name, e] of estimates) if (e.result.placed.some((p) => placed.has(p))) estimates.delete(name);
    pending = pending.filter((p) => !placed.has(p));
    pendingClasses = pendingClasses.map((cls) => cls.filter((p) => !placed.has(p))).filter((cls) => cls.length > 0);
  }

  for (const p of pending) verdicts[podKey(p)] = explainNoScaleUp(p, input, room, available);
  return { scaleUps, plannedSize: size, awaited };
}
