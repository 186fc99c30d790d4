import type { NodeInfo, PlannerInput } from './types.js';

/** What running scale-ups still owe, counted once: VMs not yet registered, and registered Nodes not yet usable. */
export interface InFlightView {
  /** VMs per group that are not yet Nodes: template capacity on the way. */
  unregistered: Record<string, number>;
  /** Nodes of running scale-ups the scheduler cannot use yet (NotReady, or Ready with a startup taint). */
  joining: Set<string>;
  /**
   * Usable Nodes of running scale-ups that have not yet seen them join: the scale-up still waits for its Node (say
   * its worker died and the wait resumes after the heartbeat timeout), so removing one would fail it.
   */
  unconfirmed: Set<string>;
}

/** A node the scheduler can place pods on: Ready and past its startup taints. */
export function isUsable(node: NodeInfo): boolean {
  return node.ready && !node.startupTainted;
}

/**
 * Splits each running scale-up's VMs into those already registered as Nodes (linked by the `vmId` label
 * `<opId>-<slot>`) and those still on the way. A scale-up of 3 whose 2 Nodes registered adds 1 to the group's
 * size, not 3 (they would count twice); its 2 Nodes stay upcoming capacity until usable, so a pod waiting for them
 * never orders another VM. Scale-ups without a known operation ID count whole, as before.
 */
export function inFlightView(input: PlannerInput): InFlightView {
  const unregistered: Record<string, number> = { ...input.state.inFlight };
  const joining = new Set<string>();
  const unconfirmed = new Set<string>();
  const ops = input.state.inFlightOps ?? [];
  if (ops.length === 0) return { unregistered, joining, unconfirmed };
  const byOp = new Map<string, NodeInfo[]>();
  for (const n of input.nodes) {
    if (!n.vmId) continue;
    const dash = n.vmId.lastIndexOf('-');
    if (dash <= 0) continue;
    const op = n.vmId.slice(0, dash);
    let list = byOp.get(op);
    if (!list) byOp.set(op, (list = []));
    list.push(n);
  }
  for (const op of ops) {
    const registered = (byOp.get(op.opId) ?? []).filter((n) => n.group === op.group).slice(0, op.count);
    unregistered[op.group] = Math.max(0, (unregistered[op.group] ?? 0) - registered.length);
    for (const n of registered) (isUsable(n) ? unconfirmed : joining).add(n.name);
  }
  return { unregistered, joining, unconfirmed };
}
