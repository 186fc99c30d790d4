// Types the evaluator workflow and its activities both speak about operations and nodes.

/** One running scale-up or scale-down as the evaluator books it (also each operation's memo). */
export interface OperationRecord {
  kind: 'scale-up' | 'scale-down';
  group: string;
  /** Scale-up: VMs asked for. */
  count?: number;
  /** Scale-up: the random operation ID its VMs' `vm-id` labels start with. */
  opId?: string;
  /** Scale-down: the node. */
  node?: string;
  startedAt: number;
  reason: string;
}

/** A managed node as an activity looked it up from the cluster (the plan only carries a few verdicts). */
export interface NodeLookup {
  managed: boolean;
  group?: string;
  hostname?: string;
  vmId?: string;
}

/** A node of a group the worker ranks for removal: removable first, then unneeded, then the rest. */
export interface RemovalCandidate {
  node: string;
  hostname: string;
  vmId?: string;
}

/** Each reason in a clusterChanged signal is cut to this many characters before it is sent. */
export const MAX_CHANGE_REASON = 200;
