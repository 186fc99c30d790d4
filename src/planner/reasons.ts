// Every reason the planner gives, as a closed set with one line each. Names follow cluster-autoscaler where the
// meaning is the same, so people who know its events and FAQ recognise them.

/** Why a pending pod gets, or does not get, a new node. */
export const PodReason = {
  /** Fits on a node that exists; the scheduler will get there (or is racing us). */
  FitsExistingNode: 'FitsExistingNode',
  /** Fits on a VM already being created; not counted twice. */
  FitsUpcomingNode: 'FitsUpcomingNode',
  /** A scale-up of this group is planned for it. */
  ScaleUp: 'ScaleUp',
  /** Priority below --expendable-pods-priority-cutoff: never triggers a scale-up. */
  ExpendablePod: 'ExpendablePod',
  /** Unschedulable for less than --new-pod-scale-up-delay. */
  TooYoung: 'TooYoung',
  /** The autoscaler is paused by an operator. */
  AutoscalerPaused: 'AutoscalerPaused',
  /** More CPU, memory or pods than any group's template node has. */
  TooBigForEveryTemplate: 'TooBigForEveryTemplate',
  /** No group's template matches its node selector or required affinity (arch included). */
  NoGroupMatchesSelector: 'NoGroupMatchesSelector',
  /** Every group whose template fits has a taint the pod does not tolerate. */
  UntoleratedTaint: 'UntoleratedTaint',
  /** Groups fit, but every one is at max-size (or the cluster at --max-nodes-total). */
  MaxSizeReached: 'MaxSizeReached',
  /** Groups fit, but each is at max-size, in backoff after a failed scale-up, or paused. */
  NoGroupAvailable: 'NoGroupAvailable',
  /** Different groups refuse it for different reasons; the message lists them. */
  NoGroupFits: 'NoGroupFits',
  /** No new node could take it: pod affinity, anti-affinity, topology spread or a host port; says which. */
  TopologyNotSatisfiable: 'TopologyNotSatisfiable',
  /** It has a constraint the planner cannot judge (a PersistentVolumeClaim, a DRA claim, ...): no node is planned. */
  UnsupportedConstraint: 'UnsupportedConstraint',
  /**
   * The scheduler has refused it for longer than --trust-scheduler-after although the planner finds it room on a
   * node the scheduler has tried: planned as if that node did not fit. The message says what was planned instead.
   */
  SchedulerRefusedFit: 'SchedulerRefusedFit',
} as const;
/** One of the PodReason values. */
export type PodReason = (typeof PodReason)[keyof typeof PodReason];

/** Why a managed node goes, waits or stays. Pod-level blockers carry the pod in the verdict's `blockingPod`. */
export const NodeReason = {
  /** Every check passed: the plan removes it now. */
  Removable: 'Removable',
  /** Unneeded, but not for --scale-down-unneeded-time yet. */
  NotUnneededLongEnough: 'NotUnneededLongEnough',
  /** Requested cpu or memory is at or above the utilization threshold. */
  NotUnderutilized: 'NotUnderutilized',
  /** Some pod could not be placed on any node that stays. */
  NoPlaceToMovePods: 'NoPlaceToMovePods',
  /** A PodDisruptionBudget allows no more disruptions for one of its pods. */
  NotEnoughPdb: 'NotEnoughPdb',
  /** A pod with a constraint the planner cannot judge (a PersistentVolumeClaim, ...): where it could go is unknown. */
  UnsupportedConstraint: 'UnsupportedConstraint',
  /** A pod with local storage (emptyDir, hostPath) and no safe-to-evict annotation. */
  LocalStorageRequested: 'LocalStorageRequested',
  /** A pod no controller would recreate. */
  NotReplicated: 'NotReplicated',
  /** A kube-system pod without a PodDisruptionBudget. */
  UnmovableKubeSystemPod: 'UnmovableKubeSystemPod',
  /** A pod annotated cluster-autoscaler.kubernetes.io/safe-to-evict: "false". */
  NotSafeToEvictAnnotation: 'NotSafeToEvictAnnotation',
  /** The node is annotated cluster-autoscaler.kubernetes.io/scale-down-disabled: "true". */
  ScaleDownDisabledAnnotation: 'ScaleDownDisabledAnnotation',
  /** Removing it would take its group below min-size. */
  NodeGroupMinSizeReached: 'NodeGroupMinSizeReached',
  /** An operator holds it. */
  HeldByOperator: 'HeldByOperator',
  /** Its group, or the autoscaler, is paused. */
  Paused: 'Paused',
  /** NotReady, but not for --scale-down-unready-time yet. */
  UnreadyNotLongEnough: 'UnreadyNotLongEnough',
  /** Pending pods fit on it; it is about to get busier. */
  AwaitingPendingPods: 'AwaitingPendingPods',
  /** Pods of a node this plan removes are to move here, so it stays. */
  TakesPodsOfRemovedNode: 'TakesPodsOfRemovedNode',
  /** Already being removed. */
  BeingRemoved: 'BeingRemoved',
  /**
   * A running scale-up made it: it is not usable yet (NotReady, or Ready with a startup taint), or the scale-up has
   * not yet seen it join. Either way it stays until that scale-up ends.
   */
  StillJoining: 'StillJoining',
  /** Scale-down is off (--scale-down-enabled=false). */
  ScaleDownDisabled: 'ScaleDownDisabled',
  /** Removal allowed, but this evaluation already removes --max-scale-down-parallelism nodes. */
  ParallelismLimit: 'ParallelismLimit',
} as const;
/** One of the NodeReason values. */
export type NodeReason = (typeof NodeReason)[keyof typeof NodeReason];

/** What stops every scale-down in an evaluation; also shown on each node it holds back. */
export const BlockReason = {
  /** The autoscaler is paused by an operator. */
  Paused: 'Paused',
  /** --scale-down-enabled=false. */
  ScaleDownDisabled: 'ScaleDownDisabled',
  /** --scale-down-delay-after-add / -after-delete / -after-failure has not passed. */
  ScaleDownInCooldown: 'ScaleDownInCooldown',
  /** More than --ok-total-unready-count and --max-total-unready-percentage nodes are unready. */
  TooManyUnreadyNodes: 'TooManyUnreadyNodes',
} as const;
/** One of the BlockReason values. */
export type BlockReason = (typeof BlockReason)[keyof typeof BlockReason];

/** A duration as `45s` or `9m30s`, for messages. */
export function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.ceil(ms / 1000)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)
    .toString()
    .padStart(2, '0')}s`;
}
