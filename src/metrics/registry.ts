import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';

// The worker's Prometheus metrics. Names, labels and label values follow cluster-autoscaler's metrics.go where the
// meaning matches, so its dashboards and alerts keep working; ours carry the `slicer_autoscaler_` prefix.
// Every label value is a group name, a state word or a reason word: never a token, URL or free text.

const CA = 'cluster_autoscaler_';
const OWN = 'slicer_autoscaler_';

/** cluster-autoscaler's function_duration_seconds buckets: 0.01 s growing by 1.5x, 30 buckets (to ~21 min). */
export const FUNCTION_DURATION_BUCKETS = exponentialBuckets(0.01, 1.5, 30);
/** Reaction buckets: 10 ms to ~82 s, fine enough around our 250 ms target. */
export const REACTION_BUCKETS = exponentialBuckets(0.01, 1.5, 23);

/** cluster-autoscaler's node states for nodes_count. */
export const NODE_STATES = ['ready', 'unready', 'notStarted', 'longUnregistered', 'unregistered'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** Reasons of failed_scale_ups_total, as cluster-autoscaler names them. */
export const FAILED_SCALE_UP_REASONS = ['cloudProviderError', 'apiCallError', 'timeout'] as const;
export type FailedScaleUpReason = (typeof FAILED_SCALE_UP_REASONS)[number];

/** Reasons of scaled_down_nodes_total, as cluster-autoscaler names them. */
export const SCALE_DOWN_REASONS = ['underutilized', 'empty', 'unready'] as const;
export type ScaleDownReason = (typeof SCALE_DOWN_REASONS)[number];

/** Reasons of failed_scale_down_total: the drain did not finish (rolled back), or another error ended it. */
export const FAILED_SCALE_DOWN_REASONS = ['drainFailed', 'error'] as const;

/** Every metric one worker exports, in its own registry (two workers in one process do not share counters). */
export function createMetrics() {
  const registry = new Registry();
  const r = [registry];
  const m = {
    registry,
    clusterSafeToAutoscale: new Gauge({
      name: `${CA}cluster_safe_to_autoscale`,
      help: 'Whether or not cluster is healthy enough for autoscaling. 1 if it is, 0 otherwise.',
      registers: r,
    }),
    nodesCount: new Gauge({
      name: `${CA}nodes_count`,
      help: 'Number of nodes in cluster.',
      labelNames: ['state'],
      registers: r,
    }),
    nodeGroupsCount: new Gauge({
      name: `${CA}node_groups_count`,
      help: 'Number of node groups managed by CA.',
      labelNames: ['node_group_type'],
      registers: r,
    }),
    unschedulablePodsCount: new Gauge({
      name: `${CA}unschedulable_pods_count`,
      help: 'Number of unschedulable pods in the cluster.',
      labelNames: ['type'],
      registers: r,
    }),
    maxNodesCount: new Gauge({
      name: `${CA}max_nodes_count`,
      help: 'Maximum number of nodes in all node groups',
      registers: r,
    }),
    nodeGroupMinCount: new Gauge({
      name: `${CA}node_group_min_count`,
      help: 'Minimum number of nodes in the node group',
      labelNames: ['node_group'],
      registers: r,
    }),
    nodeGroupMaxCount: new Gauge({
      name: `${CA}node_group_max_count`,
      help: 'Maximum number of nodes in the node group',
      labelNames: ['node_group'],
      registers: r,
    }),
    nodeGroupTargetCount: new Gauge({
      name: `${CA}node_group_target_count`,
      help: 'Target number of nodes in the node group by CA.',
      labelNames: ['node_group'],
      registers: r,
    }),
    nodeGroupHealthiness: new Gauge({
      name: `${CA}node_group_healthiness`,
      help: 'Whether or not node group is healthy enough for autoscaling. 1 if it is, 0 otherwise.',
      labelNames: ['node_group'],
      registers: r,
    }),
    nodeGroupBackoffStatus: new Gauge({
      name: `${CA}node_group_backoff_status`,
      help: 'Whether or not node group is backoff for not autoscaling. 1 if it is, 0 otherwise.',
      labelNames: ['node_group', 'reason'],
      registers: r,
    }),
    lastActivity: new Gauge({
      name: `${CA}last_activity`,
      help: 'Last time certain part of CA logic executed.',
      labelNames: ['activity'],
      registers: r,
    }),
    functionDuration: new Histogram({
      name: `${CA}function_duration_seconds`,
      help: 'Time taken by various parts of CA main loop.',
      labelNames: ['function'],
      buckets: FUNCTION_DURATION_BUCKETS,
      registers: r,
    }),
    scaledUpNodes: new Counter({
      name: `${CA}scaled_up_nodes_total`,
      help: 'Number of nodes added by CA.',
      registers: r,
    }),
    failedScaleUps: new Counter({
      name: `${CA}failed_scale_ups_total`,
      help: 'Number of times scale-up operation has failed.',
      labelNames: ['reason'],
      registers: r,
    }),
    scaledDownNodes: new Counter({
      name: `${CA}scaled_down_nodes_total`,
      help: 'Number of nodes removed by CA.',
      labelNames: ['reason'],
      registers: r,
    }),
    failedScaleDowns: new Counter({
      name: `${CA}failed_scale_down_total`,
      help: 'Number of times scale-down operation has failed.',
      labelNames: ['reason'],
      registers: r,
    }),
    evictedPods: new Counter({
      name: `${CA}evicted_pods_total`,
      help: 'Number of pods evicted by CA',
      labelNames: ['eviction_result'],
      registers: r,
    }),
    unneededNodesCount: new Gauge({
      name: `${CA}unneeded_nodes_count`,
      help: 'Number of nodes currently considered unneeded by CA.',
      registers: r,
    }),
    scaleDownInCooldown: new Gauge({
      name: `${CA}scale_down_in_cooldown`,
      help: 'Whether or not the scale down is in cooldown. 1 if its, 0 otherwise.',
      registers: r,
    }),
    operations: new Counter({
      name: `${OWN}operations_total`,
      help: 'Scale-up and scale-down workflows that ended, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      registers: r,
    }),
    reactionSeconds: new Histogram({
      name: `${OWN}reaction_seconds`,
      help: 'From this worker first seeing a pod Unschedulable to the Slicer create call for its VM returning.',
      buckets: REACTION_BUCKETS,
      registers: r,
    }),
    planDuration: new Histogram({
      name: `${OWN}plan_duration_seconds`,
      help: 'Time the pure planner took for one evaluation (no I/O).',
      buckets: FUNCTION_DURATION_BUCKETS,
      registers: r,
    }),
    plans: new Counter({
      name: `${OWN}plans_total`,
      help: 'Evaluations planned by this worker.',
      registers: r,
    }),
    eventsSent: new Counter({
      name: `${OWN}events_total`,
      help: 'Kubernetes Events by what became of them: sent, deduplicated, dropped (queue full), failed.',
      labelNames: ['result'],
      registers: r,
    }),
    statusWrites: new Counter({
      name: `${OWN}status_configmap_writes_total`,
      help: 'Writes of the status ConfigMap, by result.',
      labelNames: ['result'],
      registers: r,
    }),
  };
  collectDefaultMetrics({ register: registry, prefix: OWN });
  // Known label values start at 0, so rate() and alerts see them before the first increment.
  for (const s of NODE_STATES) m.nodesCount.set({ state: s }, 0);
  for (const reason of FAILED_SCALE_UP_REASONS) m.failedScaleUps.inc({ reason }, 0);
  for (const reason of SCALE_DOWN_REASONS) m.scaledDownNodes.inc({ reason }, 0);
  for (const reason of FAILED_SCALE_DOWN_REASONS) m.failedScaleDowns.inc({ reason }, 0);
  for (const result of ['succeeded', 'failed']) m.evictedPods.inc({ eviction_result: result }, 0);
  m.nodeGroupsCount.set({ node_group_type: 'autoprovisioned' }, 0);
  return m;
}

/** The worker's metrics, as created by createMetrics(). */
export type Metrics = ReturnType<typeof createMetrics>;
