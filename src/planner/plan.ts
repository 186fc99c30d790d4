import { acceptsPods, freeOn, podsByNode, type Bin } from './cluster.js';
import { STARTUP_TAINTS } from '../shared/startup-taints.js';
import { inFlightView } from './in-flight.js';
import { planScaleDown } from './scale-down/index.js';
import { planScaleUp } from './scale-up.js';
import type { NodeVerdict, Plan, PlannerInput, PodVerdict } from './types.js';

/**
 * The planner: a pure function from a snapshot of the cluster and the evaluator's state to decisions, each with a
 * reason. Same input, same plan. It never calls anything.
 */
export function plan(raw: PlannerInput): Plan {
  const podVerdicts: Record<string, PodVerdict> = {};
  const nodeVerdicts: Record<string, NodeVerdict> = {};
  const byNode = podsByNode(raw.pods);
  const leaving = new Set(raw.state.nodesBeingRemoved);
  // Running scale-ups count each VM once: as a Node once it registered, as in flight until then.
  const view = inFlightView(raw);
  const input: PlannerInput = { ...raw, state: { ...raw.state, inFlight: view.unregistered } };
  const bin = (n: PlannerInput['nodes'][number], taints = n.taints): Bin => ({
    name: n.name,
    free: freeOn(n, byNode.get(n.name)),
    labels: n.labels,
    taints,
  });
  const bins: Bin[] = input.nodes
    .filter((n) => !view.joining.has(n.name) && acceptsPods(n, leaving))
    .map((n) => bin(n));
  // A joining node is capacity on its way, like a VM being created: its startup taints are about to go.
  const joining: Bin[] = input.nodes
    .filter((n) => view.joining.has(n.name))
    .map((n) =>
      bin(
        n,
        n.taints.filter((t) => !STARTUP_TAINTS.has(t.key)),
      ),
    );
  const up = planScaleUp(input, bins, podVerdicts, joining);
  // Scale-down sees the room pending pods will take, and never removes a node they are about to land on.
  const down = planScaleDown(
    input,
    nodeVerdicts,
    new Map(bins.map((b) => [b.name, b])),
    up.awaited,
    byNode,
    view.joining,
  );
  return {
    scaleUps: up.scaleUps,
    scaleDowns: down.scaleDowns,
    unneeded: down.unneeded,
    podVerdicts,
    nodeVerdicts,
    ...(down.blocked && { blocked: down.blocked }),
  };
}
