// cluster-autoscaler's flags (kubernetes/autoscaler cluster-autoscaler/config/flags/flags.go), klog's and
// leader election's, which we accept but do not implement, so an existing install's args keep working.
//
// The rule for each: if the value asks for what we do anyway, it is accepted silently. Otherwise it is accepted
// with one warning, unless ignoring it would make us evict or delete more than the user asked, or cross a limit
// they set: then it is refused, saying why and what to do instead.

import { parseDuration } from './duration.js';

/** What ignoring one flag's value means. */
export type Verdict =
  | { kind: 'same' }
  | { kind: 'warn'; why: string }
  | { kind: 'refuse'; why: string }
  | { kind: 'invalid'; message: string };

export interface CaFlag {
  /** Written bare means true (pflag's NoOptDefVal). */
  bool?: boolean;
  judge: (value: string) => Verdict;
}

const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** Go's strconv.ParseBool, which cluster-autoscaler's flags use; undefined when not a boolean. */
export function goBool(value: string): boolean | undefined {
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  return undefined;
}

const same = (): Verdict => ({ kind: 'same' });
const warn = (why: string): Verdict => ({ kind: 'warn', why });
const refuse = (why: string): Verdict => ({ kind: 'refuse', why });

/** Accepted with a warning whatever the value. */
const ignored = (why: string, bool = false): CaFlag => ({ bool, judge: () => warn(why) });

/** A boolean whose value `ours` is what we always do; another value gets `otherwise`. */
function boolAs(ours: boolean, otherwise: Verdict): CaFlag {
  return {
    bool: true,
    judge: (v) => {
      const b = goBool(v);
      if (b === undefined) return { kind: 'invalid', message: 'expected true or false' };
      return b === ours ? same() : otherwise;
    },
  };
}

/**
 * A number we hold fixed at `ours` where a smaller value asks for more protection: smaller is refused (we would
 * act where the user asked us to stop), larger is only a warning (we stop sooner than asked).
 */
function floor(ours: number, refuseWhy: string, warnWhy: string, integer = true): CaFlag {
  return {
    judge: (v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
        return { kind: 'invalid', message: integer ? 'expected a whole number' : 'expected a number' };
      if (n === ours) return same();
      return n < ours ? refuse(refuseWhy) : warn(warnWhy);
    },
  };
}

/** A duration accepted silently when it equals `oursMs`, with a warning otherwise. */
function durationAs(oursMs: number, why: string): CaFlag {
  return {
    judge: (v) => {
      const ms = parseDuration(v);
      if (ms === undefined) return { kind: 'invalid', message: 'expected a duration like 90s, 10m or 1h' };
      return ms === oursMs ? same() : warn(why);
    },
  };
}

/** Accepted silently when the value is `ours`, with a warning otherwise. */
function valueAs(ours: string, why: string): CaFlag {
  return { judge: (v) => (v === ours ? same() : warn(why)) };
}

const LIMITS =
  'cluster-wide CPU and memory limits are not enforced, so nodes would be added above the maximum or removed below the minimum; use max-size and min-size per group and --max-nodes-total';
const LOGS = 'klog option; our logs are lines on stdout and stderr';
const BALANCING = 'similar groups are compared by their Slicer host group shape and labels only';
const NOT_USED = 'no effect here';

/** Every flag we accept but do not implement, by name without the leading dashes. */
export const CA_FLAGS: Record<string, CaFlag> = {
  // Refused unless the value is what we do anyway: ignoring it would evict, delete or exceed more than asked.
  'ignore-daemonsets-utilization': boolAs(
    true,
    refuse(
      'utilization always leaves DaemonSet pods out (as with true), so nodes look emptier than you asked and would be removed sooner; remove the flag or set it to true',
    ),
  ),
  'ignore-mirror-pods-utilization': boolAs(
    true,
    refuse(
      'utilization always leaves mirror pods out (as with true), so nodes look emptier than you asked and would be removed sooner; remove the flag or set it to true',
    ),
  ),
  'skip-nodes-with-custom-controller-pods': boolAs(
    false,
    refuse(
      'a pod owned by any controller counts as replicated (as with false), so nodes running pods of custom controllers would be drained; remove the flag or set it to false, and annotate pods that must stay cluster-autoscaler.kubernetes.io/safe-to-evict: "false"',
    ),
  ),
  'min-replica-count': {
    judge: (v) => {
      if (!/^\d+$/.test(v)) return { kind: 'invalid', message: 'expected a whole number' };
      return Number(v) === 0
        ? same()
        : refuse(
            'pods of small ReplicaSets are not protected (as with 0), so they would be evicted; remove the flag, or protect them with a PodDisruptionBudget',
          );
    },
  },
  'ok-total-unready-count': floor(
    3,
    'scale-down stops only when more than 3 nodes (and 45%) are unready, so nodes would be removed where you asked to stop; remove the flag or give 3 or more',
    'scale-down already stops when more than 3 nodes (and 45%) are unready',
  ),
  'max-total-unready-percentage': floor(
    45,
    'scale-down stops only when more than 45% of nodes (and 3) are unready, so nodes would be removed where you asked to stop; remove the flag or give 45 or more',
    'scale-down already stops when more than 45% of nodes (and 3) are unready',
    false,
  ),
  'scale-down-unready-enabled': boolAs(
    true,
    refuse(
      'unready nodes are removed after --scale-down-unready-time; to keep them longer raise --scale-down-unready-time instead',
    ),
  ),
  'cores-total': { judge: (v) => (v === '0:320000' ? same() : refuse(LIMITS)) },
  'memory-total': { judge: (v) => (v === '0:6400000' ? same() : refuse(LIMITS)) },
  'gpu-total': { judge: () => refuse(LIMITS) },
  nodes: {
    judge: () =>
      refuse(
        'node groups and their min and max come from the cloud-config only, so these limits would not hold; set min-size and max-size in [nodegroup "NAME"]',
      ),
  },
  kubernetes: {
    judge: (v) =>
      v === ''
        ? same()
        : refuse(
            'the cluster is the one in --kubeconfig (or in-cluster), so nodes of another cluster could be acted on; put the API server in a kubeconfig',
          ),
  },

  // Accepted: what we do is at least as careful, or the flag tunes something we do not have.
  'skip-nodes-with-local-storage': boolAs(
    true,
    warn(
      'nodes running pods with local storage are always kept (as with true), unless a pod is annotated safe-to-evict',
    ),
  ),
  'skip-nodes-with-system-pods': boolAs(
    true,
    warn('nodes running kube-system pods without a PodDisruptionBudget are always kept (as with true)'),
  ),
  'cordon-node-before-terminating': boolAs(true, warn('nodes are always cordoned before they are drained')),
  'daemonset-eviction-for-empty-nodes': boolAs(false, warn('DaemonSet pods are never evicted')),
  'daemonset-eviction-for-occupied-nodes': boolAs(false, warn('DaemonSet pods are never evicted')),
  'force-delete-unregistered-nodes': boolAs(false, warn('nodes are never removed below min-size')),
  'force-delete-failed-nodes': boolAs(false, warn('nodes are never removed below min-size')),
  'write-status-configmap': boolAs(true, warn('the status ConfigMap is always written')),
  'status-config-map-name': valueAs('cluster-autoscaler-status', 'the status ConfigMap is cluster-autoscaler-status'),
  estimator: valueAs('binpacking', 'scale-ups are estimated by first-fit-decreasing bin packing only'),
  'enforce-node-group-min-size': ignored('groups below min-size are not scaled up to it by themselves', true),
  'scale-up-from-zero': boolAs(true, warn('scale-up does not depend on how many nodes are ready')),
  'max-graceful-termination-sec': ignored(
    'each pod gets its own terminationGracePeriodSeconds through the Eviction API; drain-timeout bounds the whole drain',
  ),
  'max-pod-eviction-time': ignored('drain-timeout bounds the whole drain'),
  'drain-priority-config': ignored('pods of a node are evicted together, each with its own grace period'),
  'blocking-system-pod-distruption-timeout': ignored(
    'kube-system pods without a PodDisruptionBudget always keep their node',
  ),
  'node-deletion-delay-timeout': ignored('delay-deletion annotations are not waited for'),
  'node-delete-delay-after-taint': ignored('the drain starts right after the taint'),
  'dynamic-node-delete-delay-after-taint-enabled': ignored(NOT_USED, true),
  'node-deletion-batcher-interval': ignored('each node is removed by its own workflow'),
  'node-deletion-candidate-ttl': ignored('unneeded-since times live in the evaluator workflow'),
  'max-nodes-per-scaleup': ignored('one scale-up is bounded by the group max-size and --max-nodes-total'),
  'max-empty-bulk-delete': ignored('--max-scale-down-parallelism bounds every scale-down'),
  'scale-down-delay-type-local': ignored('the --scale-down-delay-after-* flags apply to all groups', true),
  'scale-down-gpu-utilization-threshold': ignored('GPUs are not modelled'),
  'scale-down-non-empty-candidates-count': ignored('every node is considered each time'),
  'scale-down-candidates-pool-ratio': ignored('every node is considered each time'),
  'scale-down-candidates-pool-min-count': ignored('every node is considered each time'),
  'scale-down-simulation-timeout': ignored(NOT_USED),
  'unremovable-node-recheck-timeout': ignored('every node is re-checked at each evaluation'),
  'initial-node-group-backoff-duration': durationAs(
    5 * 60_000,
    'backoff after a failed scale-up is 5 minutes doubling to 30',
  ),
  'max-node-group-backoff-duration': durationAs(
    30 * 60_000,
    'backoff after a failed scale-up is 5 minutes doubling to 30',
  ),
  'node-group-backoff-reset-timeout': ignored('backoff resets after a successful scale-up'),
  'max-bulk-soft-taint-count': ignored('no PreferNoSchedule soft taints are set'),
  'max-bulk-soft-taint-time': ignored('no PreferNoSchedule soft taints are set'),
  'parallel-scale-up': ignored('groups already scale up in parallel, one workflow each', true),
  'max-binpacking-time': ignored(NOT_USED),
  'max-nodegroup-binpacking-duration': ignored(NOT_USED),
  'max-inactivity': ignored('liveness is /healthz on --health-port'),
  'max-failing-time': ignored('liveness is /healthz on --health-port'),
  'new-pod-scale-up-delay-per-pod': ignored(NOT_USED),
  'bypassed-scheduler-names': ignored(NOT_USED),
  'startup-taint': ignored('node templates carry the taints of node-taints only'),
  'status-taint': ignored('node templates carry the taints of node-taints only'),
  'ignore-taint': ignored('node templates carry the taints of node-taints only'),
  'balancing-ignore-label': ignored(BALANCING),
  'balancing-label': ignored(BALANCING),
  'memory-difference-ratio': ignored(BALANCING),
  'max-free-difference-ratio': ignored(BALANCING),
  'max-allocatable-difference-ratio': ignored(BALANCING),
  'scale-from-unschedulable': ignored(NOT_USED, true),
  'force-ds': ignored(NOT_USED, true),
  'node-group-auto-discovery': ignored('node groups come from the cloud-config'),
  'cluster-name': ignored('the cluster name is cluster-name in the cloud-config'),
  address: ignored('health is served on --health-port'),
  'kube-api-content-type': ignored(NOT_USED),
  'kube-client-qps': ignored(NOT_USED),
  'kube-client-burst': ignored(NOT_USED),
  'scheduler-config-file': ignored('the planner has its own predicates (docs/planner.md)'),
  'grpc-expander-cert': ignored('the gRPC expander is not supported'),
  'grpc-expander-url': ignored('the gRPC expander is not supported'),
  'record-duplicated-events': ignored('each event is sent once per object and message', true),
  'emit-per-nodegroup-metrics': ignored(NOT_USED, true),
  'debugging-snapshot-enabled': ignored(NOT_USED, true),
  profiling: ignored(NOT_USED, true),
  'frequent-loops-enabled': ignored('the evaluator re-plans on every watch signal', true),
  'node-info-cache-expire-time': ignored(NOT_USED),
  'user-agent': ignored(NOT_USED),
  regional: ignored(NOT_USED, true),
  'aws-use-static-instance-list': ignored(NOT_USED, true),
  'gce-concurrent-refreshes': ignored(NOT_USED),
  'gce-mig-instances-min-refresh-wait-time': ignored(NOT_USED),
  'bulk-mig-instances-listing-enabled': ignored(NOT_USED, true),
  'clusterapi-cloud-config-authoritative': ignored(NOT_USED, true),
  'enable-provisioning-requests': ignored('ProvisioningRequests are not handled', true),
  'provisioning-request-initial-backoff-time': ignored('ProvisioningRequests are not handled'),
  'provisioning-request-max-backoff-time': ignored('ProvisioningRequests are not handled'),
  'provisioning-request-max-backoff-cache-size': ignored('ProvisioningRequests are not handled'),
  'check-capacity-batch-processing': ignored('ProvisioningRequests are not handled', true),
  'check-capacity-provisioning-request-max-batch-size': ignored('ProvisioningRequests are not handled'),
  'check-capacity-provisioning-request-batch-timebox': ignored('ProvisioningRequests are not handled'),
  'check-capacity-processor-instance': ignored('ProvisioningRequests are not handled'),
  'async-node-groups': ignored(NOT_USED, true),
  'enable-proactive-scaleup': ignored(NOT_USED, true),
  'pod-injection-limit': ignored(NOT_USED),
  'enable-dynamic-resource-allocation': ignored('DRA is not modelled', true),
  'enable-csi-node-aware-scheduling': ignored('volume topology is not modelled', true),
  'cluster-snapshot-parallelism': ignored(NOT_USED),
  'predicate-parallelism': ignored(NOT_USED),
  'capacity-buffer-controller-enabled': ignored(NOT_USED, true),
  'capacity-buffer-pod-injection-enabled': ignored(NOT_USED, true),
  'feature-gates': ignored(NOT_USED),

  // Leader election (component-base).
  'leader-elect': ignored(
    'one evaluator per cluster is guaranteed by its workflow ID autoscaler/<cluster-name>, so replicas need no leader',
    true,
  ),
  'leader-elect-lease-duration': ignored('replicas need no leader'),
  'leader-elect-renew-deadline': ignored('replicas need no leader'),
  'leader-elect-retry-period': ignored('replicas need no leader'),
  'leader-elect-resource-lock': ignored('replicas need no leader'),
  'leader-elect-resource-name': ignored('replicas need no leader'),
  'leader-elect-resource-namespace': ignored('replicas need no leader'),

  // klog. With --logtostderr=true (its default in the chart, and our only mode) klog ignores --stderrthreshold too.
  logtostderr: boolAs(true, warn('logs always go to stdout and stderr; no log files are written')),
  alsologtostderr: {
    bool: true,
    judge: (v) => (goBool(v) === undefined ? { kind: 'invalid', message: 'expected true or false' } : same()),
  },
  stderrthreshold: {
    judge: (v) =>
      /^(info|warning|error|fatal|[0-3])$/i.test(v)
        ? same()
        : { kind: 'invalid', message: 'expected INFO, WARNING, ERROR or FATAL' },
  },
  'log-dir': ignored('logs always go to stdout and stderr; no log files are written'),
  'log-file': ignored('logs always go to stdout and stderr; no log files are written'),
  'log-file-max-size': ignored('logs always go to stdout and stderr; no log files are written'),
  'log-backtrace-at': ignored(LOGS),
  'log-flush-frequency': ignored(LOGS),
  'skip-headers': ignored(LOGS, true),
  'skip-log-headers': ignored(LOGS, true),
  'add-dir-header': ignored(LOGS, true),
  'one-output': ignored(LOGS, true),
  vmodule: ignored(LOGS),
};
