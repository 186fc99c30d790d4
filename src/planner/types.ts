// The planner's input and output: plain JSON, no classes, no clock. `plan(input)` is a pure function of it.

/** What a pod requests: millicores and bytes. */
export interface Resources {
  cpuMilli: number;
  memoryBytes: number;
}

/** What a node offers: resources and pod slots. */
export interface Capacity extends Resources {
  pods: number;
}

/** Kubernetes taint effects. */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

/** A node or template taint. */
export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

/** A pod toleration, with Kubernetes semantics (no operator = Equal). */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}

/** A label selector / node selector requirement. */
export interface SelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

/** A label selector over pods: every matchLabels pair and every expression must hold. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: SelectorRequirement[];
}

/**
 * A required inter-pod affinity or anti-affinity term: pods matching `selector` in `namespaces`, counted per
 * value of `topologyKey` on their nodes. matchLabelKeys and mismatchLabelKeys are already merged into `selector`.
 */
export interface PodAffinityTerm {
  /** null selects no pod, as in Kubernetes. */
  selector: LabelSelector | null;
  /** The namespaces the selector looks in, already resolved (none given = the pod's own); 'all' = every one. */
  namespaces: string[] | 'all';
  topologyKey: string;
}

/** A topology spread constraint with whenUnsatisfiable: DoNotSchedule (ScheduleAnyway is only a preference). */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  /** Counts pods of the pod's own namespace; null counts none. matchLabelKeys are already merged in. */
  selector: LabelSelector | null;
  /** Fewer eligible domains than this count as a global minimum of 0. */
  minDomains?: number;
  /** Honor (default): only nodes matching the pod's node selector and affinity count as domains. */
  nodeAffinityPolicy: 'Honor' | 'Ignore';
  /** Ignore (default): taints do not decide which nodes count. */
  nodeTaintsPolicy: 'Honor' | 'Ignore';
}

/** A host port a container asks for: two pods never share a node with the same port, protocol and host IP. */
export interface HostPort {
  port: number;
  protocol: string;
  /** '0.0.0.0' (the default) conflicts with every address. */
  hostIP: string;
}

/** A Node as the planner sees it. */
export interface NodeInfo {
  name: string;
  /** The node group (Slicer host group) it belongs to; undefined = not managed by us. */
  group?: string;
  /** The VM behind it (label slicer/hostname). */
  hostname?: string;
  allocatable: Capacity;
  labels: Record<string, string>;
  taints: Taint[];
  ready: boolean;
  /** Since when it has not been Ready (epoch ms), if it is not. */
  notReadySince?: number;
  unschedulable: boolean;
  createdAt: number;
  annotations: Record<string, string>;
  /** The VM identity the node joined with (label slicer-autoscaler/vm-id), linking it to one VM and operation. */
  vmId?: string;
  /**
   * Ready, but still carrying a taint the node lifecycle controller or kubelet sets while a node starts
   * (node.kubernetes.io/not-ready, unreachable, or cloudprovider uninitialized): the scheduler cannot use it yet.
   */
  startupTainted?: boolean;
}

/** A Pod as the planner sees it (built by src/kube/snapshot.ts). */
export interface PodInfo {
  namespace: string;
  name: string;
  nodeName?: string;
  phase: string;
  /** The scheduler set PodScheduled=False with reason Unschedulable. */
  unschedulable: boolean;
  /** Since when (epoch ms); the pod's creation time if unknown. */
  unschedulableSince?: number;
  createdAt: number;
  priority: number;
  /** Kind of the controlling owner (ReplicaSet, StatefulSet, Job, DaemonSet, ...); undefined = no controller. */
  ownerKind?: string;
  /** Effective requests (see podRequests). */
  requests: Resources;
  nodeSelector: Record<string, string>;
  /** Required node affinity: OR of terms, each an AND of requirements. */
  requiredAffinity?: SelectorRequirement[][];
  tolerations: Toleration[];
  /** emptyDir (not Memory) or hostPath volumes. */
  hasLocalStorage: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  isDaemonSet: boolean;
  isMirror: boolean;
  deleting: boolean;
  /** Required inter-pod affinity terms (all must hold). */
  podAffinity?: PodAffinityTerm[];
  /** Required inter-pod anti-affinity terms (none may be violated, in either direction). */
  podAntiAffinity?: PodAffinityTerm[];
  /** Topology spread constraints with whenUnsatisfiable: DoNotSchedule. */
  topologySpread?: SpreadConstraint[];
  hostPorts?: HostPort[];
  /**
   * Scheduling constraints the planner cannot judge, each named for a person (a PersistentVolumeClaim, a DRA claim,
   * an extended resource, ...). Such a pod never counts as fitting anywhere: see PodReason.UnsupportedConstraint.
   */
  unsupported?: string[];
}

/** A PodDisruptionBudget: its selector and the disruptions it allows now. */
export interface PdbInfo {
  namespace: string;
  name: string;
  matchLabels: Record<string, string>;
  matchExpressions: SelectorRequirement[];
  disruptionsAllowed: number;
}

/** A node group as the planner sees it: a template node for a new VM, limits and per-group options. */
export interface GroupInfo {
  name: string;
  template: {
    allocatable: Capacity;
    /** amd64 or arm64 (normalised). */
    arch: string;
    labels: Record<string, string>;
    taints: Taint[];
  };
  minSize: number;
  maxSize: number;
  priority: number;
  scaleDownUnneededTimeMs: number;
  scaleDownUtilizationThreshold: number;
}

/** The evaluator's durable memory, as the planner needs it. */
export interface PlannerState {
  paused: boolean;
  pausedGroups: string[];
  unneededSince: Record<string, number>;
  lastScaleUpAt?: number;
  lastScaleDownAt?: number;
  lastScaleDownFailureAt?: number;
  backoffUntil: Record<string, number>;
  /** VMs asked for by running scale-ups, per group (registered as Nodes or not). */
  inFlight: Record<string, number>;
  /**
   * The same scale-ups with their operation IDs, when known: their Nodes carry `vmId` = `<opId>-<slot>`, so the
   * planner counts a VM once (as a Node once it registered, else as in flight) and treats its Node as upcoming
   * capacity until the scheduler can use it.
   */
  inFlightOps?: { opId: string; group: string; count: number }[];
  nodesBeingRemoved: string[];
  /** Nodes an operator holds: never removed. */
  held: string[];
}

/** Options, named after the cluster-autoscaler flags they mirror. */
export interface PlannerOptions {
  /** `--expander`, e.g. `least-waste` or `priority,least-waste`. */
  expander: string;
  expendablePodsPriorityCutoff: number;
  newPodScaleUpDelayMs: number;
  scaleDownEnabled: boolean;
  scaleDownUnreadyTimeMs: number;
  scaleDownDelayAfterAddMs: number;
  scaleDownDelayAfterDeleteMs: number;
  scaleDownDelayAfterFailureMs: number;
  maxScaleDownParallelism: number;
  /** 0 = unlimited. */
  maxNodesTotal: number;
  balanceSimilarNodeGroups: boolean;
  okTotalUnreadyCount: number;
  maxTotalUnreadyPercentage: number;
  skipNodesWithSystemPods: boolean;
  skipNodesWithLocalStorage: boolean;
  /** Seed for the random expander and for breaking ties, so a plan is a pure function of its input. */
  seed: number;
  /**
   * A pod the scheduler has reported Unschedulable for at least this long is no longer taken to fit on nodes the
   * scheduler has had as long to try: the scheduler knows something the planner does not. 0 turns this off.
   * @default 30_000
   */
  trustSchedulerAfterMs: number;
}

/** cluster-autoscaler's defaults for the flags above. */
export const DEFAULT_PLANNER_OPTIONS: PlannerOptions = {
  expander: 'least-waste',
  expendablePodsPriorityCutoff: -10,
  newPodScaleUpDelayMs: 0,
  scaleDownEnabled: true,
  scaleDownUnreadyTimeMs: 20 * 60_000,
  scaleDownDelayAfterAddMs: 10 * 60_000,
  scaleDownDelayAfterDeleteMs: 0,
  scaleDownDelayAfterFailureMs: 3 * 60_000,
  maxScaleDownParallelism: 10,
  maxNodesTotal: 0,
  balanceSimilarNodeGroups: false,
  okTotalUnreadyCount: 3,
  maxTotalUnreadyPercentage: 45,
  skipNodesWithSystemPods: true,
  skipNodesWithLocalStorage: true,
  seed: 1,
  trustSchedulerAfterMs: 30_000,
};

/** Everything plan() decides from: a cluster snapshot, the evaluator's state and the options. */
export interface PlannerInput {
  now: number;
  nodes: NodeInfo[];
  pods: PodInfo[];
  pdbs: PdbInfo[];
  groups: GroupInfo[];
  state: PlannerState;
  options: PlannerOptions;
}

/** Why a pending pod is or is not getting a node. */
export interface PodVerdict {
  kind: 'fits-existing' | 'fits-in-flight' | 'scale-up' | 'no-scale-up' | 'ignored';
  reason: string;
  message: string;
  group?: string;
}

/** Why a managed node goes, waits (unneeded) or stays. */
export interface NodeVerdict {
  kind: 'removable' | 'unneeded' | 'kept';
  reason: string;
  message: string;
  blockingPod?: string;
}

/** Add `count` VMs to `group`. */
export interface ScaleUpDecision {
  group: string;
  count: number;
  /** `namespace/name` of the pods this serves. */
  pods: string[];
  reason: string;
}

/** Remove `node` now; its pods are expected to land where `podsToMove` says. */
export interface ScaleDownDecision {
  node: string;
  group: string;
  hostname?: string;
  empty: boolean;
  podsToMove: { pod: string; to: string }[];
  reason: string;
}

/** The planner's output: decisions, timers and a verdict for every pending pod and managed node. */
export interface Plan {
  scaleUps: ScaleUpDecision[];
  scaleDowns: ScaleDownDecision[];
  /** Every node now unneeded, and since when: the evaluator stores this as its timers. */
  unneeded: Record<string, number>;
  podVerdicts: Record<string, PodVerdict>;
  nodeVerdicts: Record<string, NodeVerdict>;
  /** A reason that stops all scale-down (paused, cooldown, too many unready nodes). */
  blocked?: { reason: string; message: string };
}
