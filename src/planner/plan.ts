import { acceptsPods, freeOn, podsByNode, type Bin } from './cluster.js';
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
  const bins: Bin[] = input.nodes
    .filter((n) => acceptsPods(n, leaving))
    .map((n) => ({ name: n.name, free: freeOn(n, byNode.get(n.name)), labels: n.labels, taints: n.taints }));
  const up = planScaleUp(input, bins, podVerdicts);
  // Scale-down sees the room pending pods will take, and never removes a node they are about to land on.
  const down = planScaleDown(input, nodeVerdicts, new Map(bins.map((b) => [b.name, b])), up.awaited, byNode);
  return {
    scaleUps: up.scaleUps,
    scaleDowns: down.scaleDowns,
    unneeded: down.unneeded,
    podVerdicts,
    nodeVerdicts,
    ...(down.blocked && { blocked: down.blocked }),
  };
}
