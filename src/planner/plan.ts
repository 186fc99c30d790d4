import { acceptsPods, nodeBin, podsByNode, type Bin } from './cluster.js';
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
  // Every node, also those that take no new pods: their pods still count for affinity and topology spread.
  const bins: Bin[] = input.nodes
    .filter((n) => !view.joining.has(n.name))
    .map((n) => nodeBin(n, byNode.get(n.name), acceptsPods(n, leaving)));
  // A joining node is capacity on its way, like a VM being created: its startup taints are about to go.
  const joining: Bin[] = input.nodes
    .filter((n) => view.joining.has(n.name))
    .map((n) => ({
      ...nodeBin(n, byNode.get(n.name), true),
      taints: n.taints.filter((t) => !STARTUP_TAINTS.has(t.key)),
    }));
  // One look at every pod instead of one per simulated world: most clusters have no anti-affinity at all.
  const anyAntiAffinity = input.pods.some((p) => p.podAntiAffinity !== undefined);
  const up = planScaleUp(input, bins, podVerdicts, joining, anyAntiAffinity);
  // Scale-down sees the room pending pods will take, and never removes a node they are about to land on. Joining
  // nodes are no destination yet, but their pods (and those planned onto them) count for topology.
  const down = planScaleDown(
    input,
    nodeVerdicts,
    [...bins, ...joining.map((b) => ({ ...b, accepts: false }))],
    up.awaited,
    byNode,
    view,
    anyAntiAffinity,
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
