import type { Bin } from '../cluster.js';
import { formatCpu, formatMemory } from '../quantity.js';
import { NodeReason, minutes } from '../reasons.js';
import type { NodeInfo, NodeVerdict, PlannerInput, PodInfo, ScaleDownDecision } from '../types.js';
import { PdbBudgets, podBlocker } from './blockers.js';
import { findCandidates, type Keep, type RunningScaleUpNodes } from './candidates.js';
import { scaleDownGate, type ScaleDownBlock } from './gates.js';
import { DrainSimulator } from './simulate.js';
import { World } from '../world.js';

/** Scale-down's share of the plan. */
export interface ScaleDownResult {
  scaleDowns: ScaleDownDecision[];
  /** Every node unneeded now, and since when: the evaluator's timers for the next evaluation. */
  unneeded: Record<string, number>;
  blocked?: ScaleDownBlock;
}

/**
 * Finds managed nodes that can go: underutilized (or NotReady long enough), every pod movable to a node that stays
 * (placements reserve room, so two removals never count on the same free space), no blocker, group above min-size,
 * unneeded for long enough. Empty nodes first, then the least used. Global gates (cooldowns, unready nodes) stop
 * removals but not the unneeded timers, so a node is removable the moment the gate lifts.
 */
export function planScaleDown(
  input: PlannerInput,
  verdicts: Record<string, NodeVerdict>,
  bins: Bin[],
  awaited: Map<string, string>,
  byNode: Map<string, PodInfo[]>,
  ofRunningScaleUps: RunningScaleUpNodes,
  anyAntiAffinity = true,
): ScaleDownResult {
  const { now, options, state } = input;
  const groups = new Map(input.groups.map((g) => [g.name, g]));
  const managed = input.nodes.filter((n) => n.group !== undefined && groups.has(n.group));
  const unneeded: Record<string, number> = {};
  const keep: Keep = (n: NodeInfo, reason, message, blockingPod) => {
    verdicts[n.name] = { kind: 'kept', reason, message, ...(blockingPod && { blockingPod }) };
  };

  const blocked = scaleDownGate(input);
  if (state.paused || !options.scaleDownEnabled) {
    for (const n of managed) keep(n, state.paused ? NodeReason.Paused : NodeReason.ScaleDownDisabled, blocked!.message);
    return { scaleDowns: [], unneeded, ...(blocked && { blocked }) };
  }

  const beingRemoved = new Set(state.nodesBeingRemoved);
  // min-size counts Nodes that exist plus VMs already being created, never VMs this same plan only intends to add,
  // and never Nodes a scale-down is already removing: they are as good as gone.
  const size: Record<string, number> = {};
  for (const g of input.groups) size[g.name] = state.inFlight[g.name] ?? 0;
  for (const n of managed) if (!beingRemoved.has(n.name)) size[n.group!] = size[n.group!]! + 1;

  const candidates = findCandidates(input, managed, groups, byNode, awaited, keep, ofRunningScaleUps);
  const budgets = new PdbBudgets(input.pdbs);
  // A world of the nodes that exist (with the pending pods scale-up put on them): the new nodes of the plan are no
  // destinations, and do not count for topology either.
  const drains = new DrainSimulator(new World(bins, [], [], anyAntiAffinity));
  const scaleDowns: ScaleDownDecision[] = [];
  const parallelism = Math.max(0, options.maxScaleDownParallelism - beingRemoved.size);
  const receiving = new Set<string>();
  for (const c of candidates) {
    const { node, group } = c;
    if (receiving.has(node.name)) {
      keep(node, NodeReason.TakesPodsOfRemovedNode, 'pods of a node chosen for removal are planned to move here');
      continue;
    }
    if (size[group.name]! - 1 < group.minSize) {
      keep(
        node,
        NodeReason.NodeGroupMinSizeReached,
        `group ${group.name} has ${size[group.name]} node(s); min-size is ${group.minSize}`,
      );
      continue;
    }
    // Expendable pods are simply evicted: they need no place and block nothing.
    const movable = c.pods.filter((p) => p.priority >= options.expendablePodsPriorityCutoff);
    const pdbs = budgets.check(movable);
    const blocker = movable.map((p) => podBlocker(p, budgets.of(p), input)).find(Boolean) ?? pdbs.blocker;
    if (blocker) {
      keep(node, blocker.reason, blocker.message, blocker.pod);
      continue;
    }
    const result = drains.drain(node.name, movable);
    if ('stuck' in result) {
      const p = result.stuck;
      keep(
        node,
        NodeReason.NoPlaceToMovePods,
        `pod ${p.namespace}/${p.name} (${formatCpu(p.requests.cpuMilli)}, ${formatMemory(p.requests.memoryBytes)}) has nowhere to go on nodes that stay`,
        `${p.namespace}/${p.name}`,
      );
      continue;
    }
    const { moves } = result;
    for (const m of moves) receiving.add(m.to);
    budgets.commit(pdbs.spend);
    size[group.name] = size[group.name]! - 1;

    const since = Math.min(state.unneededSince[node.name] ?? now, now);
    unneeded[node.name] = since;
    const needed = c.unready ? 0 : group.scaleDownUnneededTimeMs;
    const what = c.unready
      ? `NotReady for over ${minutes(options.scaleDownUnreadyTimeMs)}`
      : `requests ${Math.round(c.utilization * 100)}% of its cpu or memory`;
    if (now - since < needed) {
      verdicts[node.name] = {
        kind: 'unneeded',
        reason: NodeReason.NotUnneededLongEnough,
        message: `${what}; unneeded for ${minutes(now - since)}, removable after ${minutes(needed)} (${minutes(needed - (now - since))} left)`,
      };
      continue;
    }
    if (blocked) {
      verdicts[node.name] = { kind: 'unneeded', reason: blocked.reason, message: `${what}; ${blocked.message}` };
      continue;
    }
    if (scaleDowns.length >= parallelism) {
      verdicts[node.name] = {
        kind: 'unneeded',
        reason: NodeReason.ParallelismLimit,
        message: `${what}; waits for the --max-scale-down-parallelism ${options.maxScaleDownParallelism} limit`,
      };
      continue;
    }
    const reason =
      c.pods.length === 0 ? `empty; ${what}` : `${what}; its ${moves.length} pod(s) fit on nodes that stay`;
    verdicts[node.name] = { kind: 'removable', reason: NodeReason.Removable, message: reason };
    scaleDowns.push({
      node: node.name,
      group: group.name,
      hostname: node.hostname,
      empty: c.pods.length === 0,
      podsToMove: moves,
      reason,
    });
  }
  return { scaleDowns, unneeded, ...(blocked && { blocked }) };
}
