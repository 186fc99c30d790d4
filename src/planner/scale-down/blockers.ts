import { podKey } from '../cluster.js';
import { requirementMatches } from '../fit.js';
import { NodeReason } from '../reasons.js';
import type { PdbInfo, PlannerOptions, PodInfo } from '../types.js';

/** Pod annotation: "true" lets the pod go despite local storage or no controller; "false" pins its node. */
export const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
/** Node annotation: "true" keeps the node out of scale-down. */
export const SCALE_DOWN_DISABLED = 'cluster-autoscaler.kubernetes.io/scale-down-disabled';

/** A pod that keeps its node, and why. */
export interface Blocker {
  reason: string;
  message: string;
  pod: string;
}

function pdbSelects(pdb: PdbInfo, pod: PodInfo): boolean {
  if (pdb.namespace !== pod.namespace) return false;
  for (const k in pdb.matchLabels) if (pod.labels[k] !== pdb.matchLabels[k]) return false;
  return pdb.matchExpressions.every((r) => requirementMatches(pod.labels, r));
}

/**
 * Why a pod keeps its node, or undefined if it may be evicted. `pdbs` are those selecting it; their budgets are
 * for `PdbBudgets`. The order follows cluster-autoscaler's drain rules: the annotation decides first.
 */
export function podBlocker(
  pod: PodInfo,
  pdbs: PdbInfo[],
  input: { options: Pick<PlannerOptions, 'skipNodesWithLocalStorage' | 'skipNodesWithSystemPods'> },
): Blocker | undefined {
  const key = podKey(pod);
  const safe = pod.annotations[SAFE_TO_EVICT];
  if (safe === 'false')
    return {
      reason: NodeReason.NotSafeToEvictAnnotation,
      message: `pod ${key} is annotated ${SAFE_TO_EVICT}: "false"`,
      pod: key,
    };
  // Before safe-to-evict "true": the annotation allows the eviction, but where the pod could run is still unknown.
  if (pod.unsupported && pod.unsupported.length > 0)
    return {
      reason: NodeReason.UnsupportedConstraint,
      message: `pod ${key}: ${pod.unsupported.join('; ')}; the planner cannot judge where it could run instead`,
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
  if (input.options.skipNodesWithSystemPods && pod.namespace === 'kube-system' && pdbs.length === 0) {
    return {
      reason: NodeReason.UnmovableKubeSystemPod,
      message: `kube-system pod ${key} has no PodDisruptionBudget`,
      pod: key,
    };
  }
  return undefined;
}

/**
 * The disruptions each PodDisruptionBudget still allows, spent as the plan chooses nodes: two nodes whose pods
 * share a budget of one never both leave in the same plan.
 */
export class PdbBudgets {
  private readonly left: Map<string, number>;
  // PDBs only select pods of their own namespace: index them so each pod checks a handful, not all of them.
  private readonly byNamespace = new Map<string, PdbInfo[]>();
  private readonly selecting = new Map<PodInfo, PdbInfo[]>();

  constructor(pdbs: PdbInfo[]) {
    this.left = new Map(pdbs.map((p) => [`${p.namespace}/${p.name}`, p.disruptionsAllowed]));
    for (const p of pdbs) {
      let list = this.byNamespace.get(p.namespace);
      if (!list) this.byNamespace.set(p.namespace, (list = []));
      list.push(p);
    }
  }

  /** The PDBs that select the pod (asked for by the blocker check and again by the budget check). */
  of(pod: PodInfo): PdbInfo[] {
    let found = this.selecting.get(pod);
    if (!found) {
      found = (this.byNamespace.get(pod.namespace) ?? []).filter((x) => pdbSelects(x, pod));
      this.selecting.set(pod, found);
    }
    return found;
  }

  /** What evicting all `pods` would spend, and the first pod a budget cannot cover. */
  check(pods: PodInfo[]): { spend: Map<string, number>; blocker?: Blocker } {
    const spend = new Map<string, number>();
    let blocker: Blocker | undefined;
    for (const p of pods) {
      for (const pdb of this.of(p)) {
        const k = `${pdb.namespace}/${pdb.name}`;
        spend.set(k, (spend.get(k) ?? 0) + 1);
        if (spend.get(k)! > this.left.get(k)!) {
          blocker ??= {
            reason: NodeReason.NotEnoughPdb,
            message: `PodDisruptionBudget ${k} allows ${this.left.get(k)} more disruption(s); pod ${podKey(p)} would need one`,
            pod: podKey(p),
          };
        }
      }
    }
    return blocker ? { spend, blocker } : { spend };
  }

  /** Records a chosen node's evictions. */
  commit(spend: Map<string, number>): void {
    for (const [k, n] of spend) this.left.set(k, this.left.get(k)! - n);
  }
}
