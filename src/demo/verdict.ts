// The one line each demo scenario ends with: what happened (the scenario's own facts, read from the cluster, Slicer
// and Temporal) and whether anything was left behind (checked here from the final state, never assumed).

/** The state after a scenario, as read from the simulated Slicer daemons, the apiserver and Temporal. */
export interface FinalState {
  groups: Record<
    string,
    {
      vms: string[];
      nodes: { name: string; hostname: string; ready: boolean; tainted: boolean; cordoned: boolean }[];
    }
  >;
  /** Operations the evaluator still counts as in flight. */
  operationsInFlight: string[];
  /** Scale-up and scale-down workflows of the scenario's groups still running in Temporal. */
  runningWorkflows: string[];
  /** Pods of the scenario's namespace the scheduler could not place. */
  pendingPods: string[];
}

/** Every leftover: VMs without a Node, Nodes without a VM or not Ready or still tainted, running operations, pods. */
export function leftBehind(s: FinalState): string[] {
  const problems: string[] = [];
  for (const [group, g] of Object.entries(s.groups)) {
    const hostnames = new Set(g.nodes.map((n) => n.hostname));
    for (const vm of g.vms) if (!hostnames.has(vm)) problems.push(`VM ${group}/${vm} has no Node`);
    for (const n of g.nodes) {
      if (!g.vms.includes(n.hostname)) problems.push(`Node ${n.name} has no VM`);
      else if (!n.ready) problems.push(`Node ${n.name} is not Ready`);
      if (n.tainted) problems.push(`Node ${n.name} still has the ToBeDeletedByClusterAutoscaler taint`);
      if (n.cordoned) problems.push(`Node ${n.name} is still cordoned`);
    }
    const perHost = new Map<string, number>();
    for (const n of g.nodes) perHost.set(n.hostname, (perHost.get(n.hostname) ?? 0) + 1);
    for (const [host, count] of perHost) if (count > 1) problems.push(`VM ${group}/${host} has ${count} Nodes`);
  }
  for (const id of s.operationsInFlight) problems.push(`the evaluator still counts ${id} in flight`);
  for (const id of s.runningWorkflows) problems.push(`workflow ${id} still running`);
  if (s.pendingPods.length)
    problems.push(
      `${s.pendingPods.length} pod(s) pending (${s.pendingPods.slice(0, 3).join(', ')}${s.pendingPods.length > 3 ? ', …' : ''})`,
    );
  return problems;
}

/** What a scenario found: whether it saw what it was built to show, and in words. */
export interface Outcome {
  ok: boolean;
  what: string;
}

/** `verdict: docs OK: <what happened>; nothing left behind (...)`, or FAILED with the reasons. */
export function verdictLine(scenario: string, outcome: Outcome, state: FinalState): { ok: boolean; line: string } {
  const problems = leftBehind(state);
  const vms = Object.values(state.groups).reduce((n, g) => n + g.vms.length, 0);
  const ok = outcome.ok && problems.length === 0;
  const tail =
    problems.length === 0
      ? `nothing left behind (${vms === 0 ? 'no VM' : `${vms} VM(s), each a Ready Node`}, no operation running, no pod pending)`
      : `left behind: ${problems.join('; ')}`;
  return { ok, line: `verdict: ${scenario} ${ok ? 'OK' : 'FAILED'}: ${outcome.what}; ${tail}` };
}
