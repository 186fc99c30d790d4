import { compareText } from './cluster.js';
import { admits, podKey, take, type Bin } from './cluster.js';
import { equivalenceKey, fitsIn, requirementMatches } from './fit.js';
import { BlockReason, NodeReason, minutes } from './reasons.js';
import type { GroupInfo, NodeInfo, NodeVerdict, PdbInfo, PlannerInput, PodInfo, ScaleDownDecision } from './types.js';

const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
const SCALE_DOWN_DISABLED = 'cluster-autoscaler.kubernetes.io/scale-down-disabled';

type Blocker = { reason: string; message: string; pod: string };

function pdbSelects(pdb: PdbInfo, pod: PodInfo): boolean {
  if (pdb.namespace !== pod.namespace) return false;
  for (const [k, v] of Object.entries(pdb.matchLabels)) if (pod.labels[k] !== v) return false;
  return pdb.matchExpressions.every((r) => requirementMatches(pod.labels, r));
}

/** Why a pod keeps its node, or undefined if it can be evicted (`pdbs`: those selecting it; budgets are checked by the caller). */
function podBlocker(pod: PodInfo, pdbs: PdbInfo[], input: PlannerInput): Blocker | undefined {
  const key = podKey(pod);
  const safe = pod.annotations[SAFE_TO_EVICT];
  if (safe === 'false')
    return {
      reason: NodeReason.NotSafeToEvictAnnotation,
      message: `pod ${key} is annotated ${SAFE_TO_EVICT}: "false"`,
      pod: key,
    };
  if (safe === 'true') return undefined;
  if (!pod.ownerKind)
    return {
      reason: NodeReason.NotReplicated,
      message: `pod ${key} has no controller to recreate it elsewhere`,
      pod: key,
    };
  if (input.options.skipNodesWithLocalStorage && pod.hasLocalStorage) {
    return {
      reason: NodeReason.LocalStorageRequested,
      message: `pod ${key} uses local storage (emptyDir or hostPath) and is not annotated ${SAFE_TO_EVICT}: "true"`,
      pod: key,
    };
  }
  if (
    input.options.skipNodesWithSystemPods &&
    pod.namespace === 'kube-system' &&
    !pdbs.some((p) => pdbSelects(p, pod))
  ) {
    return {
      reason: NodeReason.UnmovableKubeSystemPod,
      message: `kube-system pod ${key} has no PodDisruptionBudget`,
      pod: key,
    };
  }
  return undefined;
}

export interface ScaleDownResult {
  scaleDowns: ScaleDownDecision[];
  unneeded: Record<string, number>;
  blocked?: { reason: string; message: string };
}

/**
 * Finds managed nodes that can go: underutilized (or NotReady long enough), every pod movable to a node that stays
 * (placements reserve room, so two removals never count on the same free space), no blocker, group above min-size,
 * unneeded for long enough. Empty nodes first, then the least used.
 */
export function planScaleDown(
  input: PlannerInput,
  verdicts: Record<string, NodeVerdict>,
  bins: Map<string, Bin>,
  awaited: Set<string>,
  byNode: Map<string, PodInfo[]>,
): ScaleDownResult {
  const { now, options, state } = input;
  const groups = new Map(input.groups.map((g) => [g.name, g]));
  const managed = input.nodes.filter((n) => n.group !== undefined && groups.has(n.group));
  const beingRemoved = new Set(state.nodesBeingRemoved);
  const unneeded: Record<string, number> = {};
  const kept = (n: NodeInfo, reason: string, message: string, blockingPod?: string) => {
    verdicts[n.name] = { kind: 'kept', reason, message, ...(blockingPod && { blockingPod }) };
  };

  // Global gates: reported on the plan and on every node, but unneeded timers keep running through cooldowns.
  let blocked: ScaleDownResult['blocked'];
  const unready = input.nodes.filter((n) => !n.ready).length;
  if (state.paused) blocked = { reason: BlockReason.Paused, message: 'the autoscaler is paused by an operator' };
  else if (!options.scaleDownEnabled)
    blocked = { reason: BlockReason.ScaleDownDisabled, message: 'scale-down is disabled (--scale-down-enabled=false)' };
  else if (
    unready > options.okTotalUnreadyCount &&
    (unready / Math.max(1, input.nodes.length)) * 100 > options.maxTotalUnreadyPercentage
  ) {
    blocked = {
      reason: BlockReason.TooManyUnreadyNodes,
      message: `${unready} of ${input.nodes.length} nodes are unready (more than ${options.okTotalUnreadyCount} and ${options.maxTotalUnreadyPercentage}%): no scale-down until the cluster is healthier`,
    };
  } else {
    const cooldowns: [number | undefined, number, string][] = [
      [state.lastScaleUpAt, options.scaleDownDelayAfterAddMs, 'a scale-up'],
      [state.lastScaleDownAt, options.scaleDownDelayAfterDeleteMs, 'a scale-down'],
      [state.lastScaleDownFailureAt, options.scaleDownDelayAfterFailureMs, 'a failed scale-down'],
    ];
    for (const [at, delay, what] of cooldowns) {
      if (at !== undefined && now - at < delay) {
        blocked = {
          reason: BlockReason.ScaleDownInCooldown,
          message: `scale-down waits ${minutes(delay - (now - at))} more after ${what}`,
        };
        break;
      }
    }
  }
  if (state.paused || !options.scaleDownEnabled) {
    for (const n of managed) kept(n, state.paused ? NodeReason.Paused : NodeReason.ScaleDownDisabled, blocked!.message);
    return { scaleDowns: [], unneeded, blocked };
  }

  // Destinations (`bins`): every node that accepts pods, with its free room; a node chosen to leave stops being one.
  const pdbBudget = new Map(input.pdbs.map((p) => [`${p.namespace}/${p.name}`, p.disruptionsAllowed]));
  // PDBs only select pods of their own namespace: index them so each pod checks a handful, not all of them.
  const pdbsByNamespace = new Map<string, PdbInfo[]>();
  for (const p of input.pdbs) {
    let list = pdbsByNamespace.get(p.namespace);
    if (!list) pdbsByNamespace.set(p.namespace, (list = []));
    list.push(p);
  }
  const pdbsOf = (pod: PodInfo) => (pdbsByNamespace.get(pod.namespace) ?? []).filter((x) => pdbSelects(x, pod));
  // min-size counts Nodes that exist plus VMs already being created, never VMs this same plan only intends to add,
  // and never Nodes a scale-down is already removing: they are as good as gone.
  const size: Record<string, number> = {};
  for (const g of input.groups) size[g.name] = state.inFlight[g.name] ?? 0;
  for (const n of managed) if (!beingRemoved.has(n.name)) size[n.group!] = size[n.group!]! + 1;

  type Candidate = { node: NodeInfo; group: GroupInfo; pods: PodInfo[]; utilization: number; unready: boolean };
  const candidates: Candidate[] = [];
  for (const n of managed) {
    const group = groups.get(n.group!)!;
    if (beingRemoved.has(n.name)) {
      kept(n, NodeReason.BeingRemoved, 'a scale-down is already removing it');
      continue;
    }
    if (state.held.includes(n.name)) {
      kept(n, NodeReason.HeldByOperator, 'an operator holds this node');
      continue;
    }
    if (state.pausedGroups.includes(group.name)) {
      kept(n, NodeReason.Paused, `group ${group.name} is paused by an operator`);
      continue;
    }
    if (awaited.has(n.name)) {
      kept(n, NodeReason.AwaitingPendingPods, 'pending pods fit here; the scheduler is about to place them');
      continue;
    }
    if (n.annotations[SCALE_DOWN_DISABLED] === 'true') {
      kept(n, NodeReason.ScaleDownDisabledAnnotation, `annotated ${SCALE_DOWN_DISABLED}: "true"`);
      continue;
    }
    // A pod already terminating leaves whatever we decide: it needs no new place and blocks nothing.
    const pods = (byNode.get(n.name) ?? []).filter((p) => !p.isDaemonSet && !p.isMirror && !p.deleting);
    const requested = { cpuMilli: 0, memoryBytes: 0 };
    for (const p of pods) {
      requested.cpuMilli += p.requests.cpuMilli;
      requested.memoryBytes += p.requests.memoryBytes;
    }
    const utilization = Math.max(
      requested.cpuMilli / Math.max(1, n.allocatable.cpuMilli),
      requested.memoryBytes / Math.max(1, n.allocatable.memoryBytes),
    );
    if (!n.ready) {
      const since = n.notReadySince ?? n.createdAt;
      if (now - since < options.scaleDownUnreadyTimeMs) {
        kept(
          n,
          NodeReason.UnreadyNotLongEnough,
          `NotReady for ${minutes(now - since)}; removable after ${minutes(options.scaleDownUnreadyTimeMs)}`,
        );
        continue;
      }
      candidates.push({ node: n, group, pods, utilization, unready: true });
      continue;
    }
    if (utilization >= group.scaleDownUtilizationThreshold) {
      kept(
        n,
        NodeReason.NotUnderutilized,
        `requests ${Math.round(utilization * 100)}% of its cpu or memory, at or above the ${group.scaleDownUtilizationThreshold * 100}% threshold`,
      );
      continue;
    }
    candidates.push({ node: n, group, pods, utilization, unready: false });
  }
  candidates.sort(
    (a, b) =>
      Number(a.pods.length > 0) - Number(b.pods.length > 0) ||
      a.utilization - b.utilization ||
      compareText(a.node.name, b.node.name),
  );

  const scaleDowns: ScaleDownDecision[] = [];
  const parallelism = Math.max(0, options.maxScaleDownParallelism - beingRemoved.size);
  const receiving = new Set<string>();
  const order = [...bins.keys()];
  const skip = new Map<string, number>();
  for (const c of candidates) {
    const { node, group } = c;
    if (receiving.has(node.name)) {
      kept(node, NodeReason.TakesPodsOfRemovedNode, 'pods of a node chosen for removal are planned to move here');
      continue;
    }
    if (size[group.name]! - 1 < group.minSize) {
      kept(
        node,
        NodeReason.NodeGroupMinSizeReached,
        `group ${group.name} has ${size[group.name]} node(s); min-size is ${group.minSize}`,
      );
      continue;
    }
    const movable = c.pods.filter((p) => p.priority >= options.expendablePodsPriorityCutoff);
    const blocker = movable.map((p) => podBlocker(p, pdbsOf(p), input)).find(Boolean);
    if (blocker) {
      kept(node, blocker.reason, blocker.message, blocker.pod);
      continue;
    }
    // PodDisruptionBudgets: each eviction spends one allowed disruption of every PDB that selects the pod.
    const spend = new Map<string, number>();
    let pdbBlock: Blocker | undefined;
    for (const p of movable) {
      for (const pdb of pdbsOf(p)) {
        const k = `${pdb.namespace}/${pdb.name}`;
        spend.set(k, (spend.get(k) ?? 0) + 1);
        if (spend.get(k)! > pdbBudget.get(k)!) {
          pdbBlock ??= {
            reason: NodeReason.NotEnoughPdb,
            message: `PodDisruptionBudget ${k} allows ${pdbBudget.get(k)} more disruption(s); pod ${podKey(p)} would need one`,
            pod: podKey(p),
          };
        }
      }
    }
    if (pdbBlock) {
      kept(node, pdbBlock.reason, pdbBlock.message, pdbBlock.pod);
      continue;
    }
    // Simulate the moves on copies; commit only if every pod finds a place.
    const trial = new Map<string, Bin>();
    const dest = (name: string) => {
      let b = trial.get(name);
      if (!b) {
        const orig = bins.get(name)!;
        trial.set(name, (b = { ...orig, free: { ...orig.free } }));
      }
      return b;
    };
    const moves: { pod: string; to: string }[] = [];
    let stuck: PodInfo | undefined;
    for (const p of [...movable].sort(
      (a, b) => b.requests.cpuMilli - a.requests.cpuMilli || b.requests.memoryBytes - a.requests.memoryBytes,
    )) {
      let placed = false;
      // First fit, resuming where this kind of pod last failed: committed room only shrinks, so a destination
      // that is wrong or full for pods of this size and constraints stays that way for the rest of the plan.
      const k = equivalenceKey(p);
      let start = skip.get(k) ?? 0;
      for (let j = start; j < order.length; j++) {
        const name = order[j]!;
        const orig = bins.get(name);
        const unusable = !orig || !admits(orig, p) || !fitsIn(p.requests, orig.free);
        if (unusable) {
          if (j === start) start = j + 1;
          continue;
        }
        if (name === node.name) continue;
        const b = dest(name);
        if (!fitsIn(p.requests, b.free)) continue;
        take(b, p);
        moves.push({ pod: podKey(p), to: name });
        placed = true;
        break;
      }
      skip.set(k, start);
      if (!placed) {
        stuck = p;
        break;
      }
    }
    if (stuck) {
      kept(
        node,
        NodeReason.NoPlaceToMovePods,
        `pod ${podKey(stuck)} (${stuck.requests.cpuMilli}m CPU) has nowhere to go on nodes that stay`,
        podKey(stuck),
      );
      continue;
    }
    for (const [name, b] of trial) bins.get(name)!.free = b.free;
    for (const m of moves) receiving.add(m.to);
    for (const [k, n] of spend) pdbBudget.set(k, pdbBudget.get(k)! - n);
    bins.delete(node.name);
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
        message: `${what}; unneeded for ${minutes(now - since)}, removable after ${minutes(needed)}`,
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
  return { scaleDowns, unneeded, blocked };
}
