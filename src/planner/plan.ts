import { acceptsPods, nodeBin, podsByNode, type Bin } from './cluster.js';
import { planScaleDown } from './scale-down/index.js';
import { planScaleUp } from './scale-up.js';
import type { NodeVerdict, Plan, PlannerInput, PodVerdict } from './types.js';

/**
 * The planner: a pure function from a snapshot of the cluster and the evaluator's state to decisions, each with a
 * reason. Same input, same plan. It never calls anything.
 */
export function plan(input: PlannerInput): Plan {
  const podVerdicts: Record<string, PodVerdict> = {};
  const nodeVerdicts: Record<string, NodeVerdict> = {};
  const byNode = podsByNode(input.pods);
  const leaving = new Set(input.state.nodesBeingRemoved);
  // Every node, also those that take no new pods: their pods still count for affinity and topology spread.
  const bins: Bin[] = input.nodes.map((n) => nodeBin(n, byNode.get(n.name), acceptsPods(n, leaving)));
  // One look at every pod instead of one per simulated world: most clusters have no anti-affinity at all.
  const anyAntiAffinity = input.pods.some((p) => p.podAntiAffinity !== undefined);
  const up = planScaleUp(input, bins, podVerdicts, anyAntiAffinity);
  // Scale-down sees the room pending pods will take, and never removes a node they are about to land on.
  const down = planScaleDown(input, nodeVerdicts, bins, up.awaited, byNode, anyAntiAffinity);
  return {
    scaleUps: up.scaleUps,
    scaleDowns: down.scaleDowns,
    unneeded: down.unneeded,
    podVerdicts,
    nodeVerdicts,
    ...(down.blocked && { blocked: down.blocked }),
  };
}
