import { balance, similar } from './balance.js';
import { compareText, podKey, templateBin, templateLabels, type Bin } from './cluster.js';
import { classes, estimate, placeOn, type BinRule, type Estimate } from './estimate.js';
import { choose, seededFrom } from './expanders.js';
import { explainNoScaleUp } from './explain.js';
import { PodReason } from './reasons.js';
import { describeRefusal, SchedulerTrust, type Refusal } from './trust.js';
import type { GroupInfo, PlannerInput, PodInfo, PodVerdict, ScaleUpDecision } from './types.js';
import { World } from './world.js';

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
    if (p.unsupported && p.unsupported.length > 0) {
      // Never "fits an existing node" and never a new one: either could be wrong, and the VM would be wasted.
      verdicts[podKey(p)] = {
        kind: 'no-scale-up',
        reason: PodReason.UnsupportedConstraint,
        message: `${p.unsupported.join('; ')}: the planner cannot judge where it fits, so it plans no node for it; add capacity by hand (slicer-autoscaler scale) if it needs a new node`,
      };
      continue;
    }
    out.push(p);
  }
  const decorated = out.map((p) => ({ p, cpu: p.requests.cpuMilli, mem: p.requests.memoryBytes, key: podKey(p) }));
  decorated.sort((a, b) => b.cpu - a.cpu || b.mem - a.mem || compareText(a.key, b.key));
  return decorated.map((d) => d.p);
}

/**
 * VMs being created, as empty template nodes: pods that fit there need no second scale-up. Each carries its
 * group's topology labels (arch, slicer/hostgroup, zone and region from node-labels) and is its own hostname.
 */
export function upcomingBins(input: PlannerInput): Bin[] {
  return input.groups.flatMap((g) =>
    Array.from({ length: input.state.inFlight[g.name] ?? 0 }, (_, i) =>
      templateBin(g, `${g.name} (VM ${i + 1} being created)`),
    ),
  );
}

/** What scale-up tells plan() and scale-down. */
export interface ScaleUpResult {
  scaleUps: ScaleUpDecision[];
  /** Nodes each group will have after the plan: registered + in flight + planned. */
  plannedSize: Record<string, number>;
  /** Existing nodes kept for pending pods, and why: they fit there, or the node is proof the scheduler refuses one. */
  awaited: Map<string, string>;
  /** The simulated cluster as the plan leaves it (every node, VM in flight and new node with its pods), for tests. */
  world?: World;
}

/** Decides which groups grow and by how much, and gives every pending pod a verdict. */
export function planScaleUp(
  input: PlannerInput,
  nodeBins: Bin[],
  verdicts: Record<string, PodVerdict>,
  joiningBins: Bin[] = [],
  anyAntiAffinity = true,
): ScaleUpResult {
  const { groups, state, options, now } = input;
  const size: Record<string, number> = {};
  for (const g of groups)
    size[g.name] = input.nodes.filter((n) => n.group === g.name).length + (state.inFlight[g.name] ?? 0);
  const scaleUps: ScaleUpDecision[] = [];
  const awaited = new Map<string, string>();
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

  const totalNodes = input.nodes.length + Object.values(state.inFlight).reduce((a, b) => a + b, 0);
  let totalRoom = options.maxNodesTotal > 0 ? options.maxNodesTotal - totalNodes : Infinity;
  const available = (g: GroupInfo) =>
    !state.pausedGroups.includes(g.name) && !((state.backoffUntil[g.name] ?? 0) > now);
  const room = (g: GroupInfo) => Math.max(0, Math.min(g.maxSize - size[g.name]!, totalRoom));
  const rnd = seededFrom(options.seed, now);

  // Joining Nodes (registered, not usable yet) and VMs not yet Nodes: capacity on its way.
  const upcoming = [...joiningBins, ...upcomingBins(input)];
  const growable = groups.filter((g) => available(g) && room(g) > 0);
  const world = new World(
    [...nodeBins, ...upcoming],
    pending,
    growable.map((g) => templateBin(g, `${g.name} (template)`)),
    anyAntiAffinity,
  );
  const trust = new SchedulerTrust(input);
  // A pod the scheduler has refused for long enough only goes to nodes it has not had time to try.
  const keyOf = (p: PodInfo) => `${world.classKey(p)}${trust.refusedLongEnough(p) ? '|refused' : ''}`;
  const untried: BinRule = { key: 'untried', allows: (b) => !trust.tried(b) };
  const existing = nodeBins.filter((b) => b.accepts);

  // Grouped once: every later step works on classes of identical pods, not on thousands of single pods.
  let pendingClasses = placeOn(
    world,
    existing,
    classes(pending, keyOf),
    (first) => (trust.refusedLongEnough(first) ? untried : undefined),
    (pod, bin) => {
      awaited.set(bin.name, 'pending pods fit here; the scheduler is about to place them');
      verdicts[podKey(pod)] = {
        kind: 'fits-existing',
        reason: PodReason.FitsExistingNode,
        message: `fits on ${bin.name} (the scheduler has not placed it yet)`,
      };
    },
  );

  const refusals = new Map<PodInfo, Refusal>();
  for (const cls of pendingClasses) for (const [p, r] of trust.refusals(world, existing, cls)) refusals.set(p, r);
  for (const [p, r] of refusals)
    for (const name of r.refusedGroups.values())
      // Removing it would lose the proof and the next plan would make another node for the pod: VM churn.
      awaited.set(
        name,
        `the scheduler refuses pending pod ${podKey(p)} here for a reason the planner does not model; kept so that no further node is made for it`,
      );
  const refusedGroups = (p: PodInfo) => refusals.get(p)?.refusedGroups;
  if (refusals.size > 0) {
    // Pods kept away from different groups are no longer interchangeable.
    const groupsKey = (p: PodInfo) => [...(refusedGroups(p)?.keys() ?? [])].sort().join(',');
    pendingClasses = classes(pendingClasses.flat(), (p) => `${keyOf(p)}|${groupsKey(p)}`);
  }
  const notRefusedBy = (first: PodInfo): BinRule => {
    const refused = refusedGroups(first);
    if (!refused || refused.size === 0) return undefined;
    return { key: [...refused.keys()].sort().join(','), allows: (b) => !refused.has(b.group ?? '') };
  };

  pendingClasses = placeOn(world, upcoming, pendingClasses, notRefusedBy, (pod, bin) => {
    verdicts[podKey(pod)] = {
      kind: 'fits-in-flight',
      reason: PodReason.FitsUpcomingNode,
      message: `will fit on ${bin.name}`,
      group: bin.group,
    };
  });

  pending = pendingClasses.flat();
  // An estimate depends on its group, its room and the pods it placed: pods it could not place come after the
  // point where it ran out of room, or never fit at all. So when a round's pick takes none of its pods and leaves
  // its room alone, last round's estimate still holds and is not packed again, unless a pod's place in it depended
  // on other pods (affinity, anti-affinity, spread): the pick changed those.
  const estimates = new Map<string, { room: number; result: Estimate }>();
  const estimateFor = (g: GroupInfo) => {
    const r = room(g);
    const hit = estimates.get(g.name);
    if (hit && hit.room === r) return hit.result;
    const result = estimate(world, g, pendingClasses, r, (cls) => !refusedGroups(cls[0]!)?.has(g.name));
    estimates.set(g.name, { room: r, result });
    return result;
  };
  const sizeOf = (g: GroupInfo) => size[g.name]!;
  while (pending.length > 0) {
    const candidates = groups
      .filter((g) => available(g) && room(g) > 0)
      .map(estimateFor)
      .filter((e) => e.option.podCount > 0);
    const pick = choose(
      options.expander,
      candidates.map((c) => c.option),
      rnd,
      sizeOf,
    );
    if (!pick) break;
    const chosen = candidates.find((c) => c.option === pick)!;
    // Moving a node to a similar group changes its slicer/hostgroup: not for pods whose place depends on that.
    const pinned = chosen.placed.some((p) => world.dependsOn(p, 'slicer/hostgroup'));
    const split = balance(
      pick,
      groups.filter((g) => g !== pick.group && available(g) && room(g) > 0 && similar(g, pick.group)),
      options.balanceSimilarNodeGroups && !pinned,
      size,
      room,
      rnd,
    );
    const reason = `${chosen.placed.length} pending pod(s) fit on ${pick.nodeCount} new ${pick.group.name} node(s)${split.length > 1 ? `, balanced across ${split.map(([g, c]) => `${g.name} +${c}`).join(', ')}` : ''} (expander ${options.expander})`;
    let next = 0;
    for (const [group, count] of split) {
      // The new nodes join the simulated cluster with their pods, so later rounds count them.
      const labels = templateLabels(group);
      const pods: PodInfo[] = [];
      for (let n = 0; n < count; n++) {
        const bin = world.addBin(templateBin(group, world.newName(group.name), labels));
        for (const p of chosen.nodes[next++]!) {
          world.place(p, bin);
          pods.push(p);
        }
      }
      size[group.name] = size[group.name]! + count;
      totalRoom -= count;
      scaleUps.push({ group: group.name, count, pods: pods.map(podKey), reason });
      for (const p of pods)
        verdicts[podKey(p)] = { kind: 'scale-up', reason: PodReason.ScaleUp, message: reason, group: group.name };
    }
    const placed = new Set(chosen.placed);
    for (const [name, e] of estimates)
      if (e.result.readsWorld || e.result.placed.some((p) => placed.has(p))) estimates.delete(name);
    pending = pending.filter((p) => !placed.has(p));
    pendingClasses = pendingClasses.map((cls) => cls.filter((p) => !placed.has(p))).filter((cls) => cls.length > 0);
  }

  for (const p of pending) verdicts[podKey(p)] = explainNoScaleUp(p, input, room, available, world, refusedGroups(p));
  // Whatever happened to them, pods the scheduler kept refusing say why they were not left on "their" node.
  for (const [p, r] of refusals) {
    const v = verdicts[podKey(p)]!;
    verdicts[podKey(p)] = {
      ...v,
      reason: PodReason.SchedulerRefusedFit,
      message: describeRefusal(r, v),
    };
  }
  return { scaleUps, plannedSize: size, awaited, world };
}
