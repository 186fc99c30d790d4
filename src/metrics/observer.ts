import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { PlanRequest, PlanResult } from '../shared/plan-contract.js';
import type { Plan } from '../planner/index.js';
import type { PlanTimings } from '../activities/plan-scaling.js';
import type { Config } from '../config/load.js';
import type { ClusterCache } from '../kube/cluster-cache.js';
import {
  EventPublisher,
  planEvents,
  scaleDownEmptyEvent,
  scaleDownFailedEvent,
  scaledUpGroupEvent,
  type EventSpec,
  type ObjectRef,
  type StatusObject,
} from '../kube/events.js';
import { HOSTGROUP_LABEL, isNodeReady } from '../kube/nodes.js';
import { toNodeInfo } from '../kube/snapshot.js';
import { STATUS_CONFIGMAP, StatusConfigMapWriter } from '../kube/status-configmap.js';
import type { AppLogger } from '../logging.js';
import { summarizePlan, type HealthThresholds, type PlanSummary } from './plan-summary.js';
import { ReactionTracker } from './reaction.js';
import type { FailedScaleUpReason, Metrics, ScaleDownReason } from './registry.js';
import type { OperationReport, OperationSinks, OperationStart } from './workflow-interceptors.js';

// Everything the worker observes about its own decisions and actions, in one place, off the decision path: the
// planScaling activity hands its result over and returns; metrics, events and the status ConfigMap follow from here.
// Actions are seen through an activity interceptor and a workflow sink, so activities and workflows stay unchanged.

/** Scale-down reasons remembered per node between taint and removal; the oldest are forgotten past this. */
export const MAX_REMEMBERED_SCALE_DOWNS = 1000;

export interface ObserverDeps {
  metrics: Metrics;
  cache: ClusterCache;
  config: Config;
  thresholds: HealthThresholds;
  /** --max-nodes-total; 0 = none, then max_nodes_count is the sum of the groups' max-size. */
  maxNodesTotal: number;
  core?: CoreV1Api;
  /** Namespace of the status ConfigMap; none = neither the ConfigMap nor the events recorded on it. */
  statusNamespace?: string;
  /** Minimum time between status ConfigMap writes (tests shorten it). */
  statusIntervalMs?: number;
  log: AppLogger;
}

/** DaemonSet and mirror pods do not count as pods to move, as in the drain. */
function countsForEmptiness(pod: V1Pod): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !pod.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet');
}

/** cluster-autoscaler's failed scale-up reasons from our failure types. */
export function failedScaleUpReason(failureType: string | undefined): FailedScaleUpReason {
  if (failureType === 'NodeNotReadyInTime') return 'timeout';
  if (failureType?.startsWith('Slicer') || failureType === 'UnknownNodeGroup') return 'cloudProviderError';
  return 'apiCallError';
}

/** The scale-down reason from the planner's words, when the node was not seen at taint time. */
export function scaleDownReasonFromText(reason: string | undefined): ScaleDownReason {
  if (reason?.startsWith('empty')) return 'empty';
  if (reason?.includes('NotReady')) return 'unready';
  return 'underutilized';
}

export class Observer {
  readonly reaction = new ReactionTracker();
  private readonly events: EventPublisher | undefined;
  private readonly status: StatusConfigMapWriter | undefined;
  private readonly statusObject: StatusObject | undefined;
  private readonly scaleDownReasons = new Map<string, ScaleDownReason>();
  private readonly managed: Set<string>;
  private lastSummary: PlanSummary | undefined;
  /**
   * Each group's size as the plan that ordered its latest scale-up saw it: a ScaledUpGroup event says "from" that,
   * not a later plan's size, which already counts the new VMs (the sink fires when the scale-up's first task runs).
   * One entry per configured group at most.
   */
  private readonly sizeWhenPlanned = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: ObserverDeps) {
    const { core, statusNamespace, metrics } = deps;
    this.managed = new Set(deps.config.groups.map((g) => g.name));
    if (core && statusNamespace) {
      this.statusObject = { namespace: statusNamespace, name: STATUS_CONFIGMAP };
      this.status = new StatusConfigMapWriter(core, {
        namespace: statusNamespace,
        intervalMs: deps.statusIntervalMs,
        onResult: (result) => metrics.statusWrites.inc({ result }),
        log: (m) => deps.log.warn(m),
      });
    }
    if (core) {
      this.events = new EventPublisher(core, {
        resolve: (e) => this.resolve(e),
        onResult: (result) => metrics.eventsSent.inc({ result }),
      });
    }
    metrics.nodeGroupsCount.set({ node_group_type: 'autoscaled' }, deps.config.groups.length);
    metrics.maxNodesCount.set(deps.maxNodesTotal || deps.config.groups.reduce((s, g) => s + g.maxSize, 0));
    for (const g of deps.config.groups) {
      metrics.nodeGroupMinCount.set({ node_group: g.name }, g.minSize);
      metrics.nodeGroupMaxCount.set({ node_group: g.name }, g.maxSize);
    }
  }

  /**
   * Follows the cache for reaction times, starts the event loop and writes the `Initializing` status in the
   * background (a slow apiserver must not hold up the worker's start).
   */
  start(): void {
    this.unsubscribe = this.deps.cache.subscribe((c) => this.reaction.onChange(c));
    this.events?.start();
    void this.status?.initialize();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.status?.stop();
    await this.events?.stop();
  }

  /** Events waiting and remembered (tests look at the bounds). */
  eventSizes(): { queued: number; remembered: number } | undefined {
    return this.events?.sizes();
  }

  /** The object an event is about, with the UID `kubectl describe` selects by. */
  private async resolve(e: EventSpec): Promise<ObjectRef | undefined> {
    if (e.kind === 'ConfigMap') return this.status?.ref();
    const objects = e.kind === 'Pod' ? this.deps.cache.pods() : this.deps.cache.nodes();
    const found = objects.find(
      (o) => o.metadata?.name === e.name && (e.kind === 'Node' || o.metadata?.namespace === e.namespace),
    );
    return found?.metadata?.uid
      ? { uid: found.metadata.uid, resourceVersion: found.metadata.resourceVersion }
      : undefined;
  }

  /** Called by planScaling with its answer; everything else happens after the activity has returned. */
  afterPlan(req: PlanRequest, result: PlanResult, timings: PlanTimings, full: Plan): void {
    setImmediate(() => {
      try {
        this.observePlan(req, result, timings, full);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'observing a plan failed');
      }
    });
  }

  private observePlan(req: PlanRequest, result: PlanResult, timings: PlanTimings, full: Plan): void {
    const { metrics, cache } = this.deps;
    const nodes = cache.nodes().map((n) => toNodeInfo(n, this.managed));
    const schedulerUnprocessed = cache
      .pods()
      .filter(
        (p) =>
          !p.spec?.nodeName &&
          p.status?.phase === 'Pending' &&
          !p.status.conditions?.some((c) => c.type === 'PodScheduled'),
      ).length;
    const summary = summarizePlan({ req, result, nodes, schedulerUnprocessed, thresholds: this.deps.thresholds });
    this.lastSummary = summary;
    for (const up of result.scaleUps) {
      const target = summary.groups.find((g) => g.name === up.group)?.target;
      if (target !== undefined) this.sizeWhenPlanned.set(up.group, target);
    }

    metrics.plans.inc();
    metrics.clusterSafeToAutoscale.set(summary.healthy ? 1 : 0);
    const c = summary.counts;
    metrics.nodesCount.set({ state: 'ready' }, c.ready);
    metrics.nodesCount.set({ state: 'unready' }, c.unready);
    metrics.nodesCount.set({ state: 'notStarted' }, c.notStarted);
    metrics.nodesCount.set({ state: 'unregistered' }, c.unregistered);
    metrics.nodesCount.set({ state: 'longUnregistered' }, c.longUnregistered);
    metrics.unschedulablePodsCount.set({ type: 'unschedulable' }, summary.pendingPods);
    metrics.unschedulablePodsCount.set({ type: 'scheduler_unprocessed' }, summary.schedulerUnprocessed);
    metrics.unneededNodesCount.set(Object.keys(full.unneeded).length);
    metrics.scaleDownInCooldown.set(result.blocked?.reason === 'ScaleDownInCooldown' ? 1 : 0);
    for (const g of summary.groups) {
      metrics.nodeGroupTargetCount.set({ node_group: g.name }, g.target);
      metrics.nodeGroupHealthiness.set({ node_group: g.name }, g.healthy ? 1 : 0);
      metrics.nodeGroupBackoffStatus.set(
        { node_group: g.name, reason: 'failedScaleUp' },
        g.scaleUp === 'Backoff' ? 1 : 0,
      );
    }
    const at = result.at / 1000;
    metrics.lastActivity.set({ activity: 'main' }, at);
    metrics.lastActivity.set({ activity: 'autoscaling' }, at);
    if (result.pendingPods > 0) metrics.lastActivity.set({ activity: 'scaleUp' }, at);
    if (!result.blocked) metrics.lastActivity.set({ activity: 'scaleDown' }, at);
    metrics.functionDuration.observe({ function: 'main' }, timings.totalMs / 1000);
    metrics.functionDuration.observe({ function: 'cloudProviderRefresh' }, timings.hostGroupsMs / 1000);
    metrics.functionDuration.observe({ function: 'autoscaling' }, timings.planMs / 1000);
    metrics.planDuration.observe(timings.planMs / 1000);

    const acted = result.scaleUps.length > 0 || result.scaleDowns.length > 0;
    this.deps.log[acted ? 'info' : 'debug'](
      {
        pendingPods: result.pendingPods,
        scaleUps: result.scaleUps.map((u) => `${u.group}+${u.count}`),
        scaleDowns: result.scaleDowns.map((d) => d.node),
        ...(result.blocked && { scaleDownBlocked: result.blocked.reason }),
        planMs: Math.round(timings.planMs * 10) / 10,
        totalMs: Math.round(timings.totalMs * 10) / 10,
      },
      'evaluation',
    );
    // The full plan, not the capped verdicts in history: every pending pod and managed node.
    this.reaction.planned(
      Object.entries(full.podVerdicts)
        .filter(([, v]) => v.kind === 'scale-up' && v.group)
        .map(([key, v]) => ({ key, group: v.group! })),
    );
    const managedNodes = new Set(nodes.filter((n) => n.group !== undefined).map((n) => n.name));
    this.events?.enqueue(
      planEvents({
        pods: full.podVerdicts,
        nodes: Object.fromEntries(
          Object.entries(full.nodeVerdicts)
            .filter(([n]) => managedNodes.has(n))
            .map(([n, verdict]) => [n, { verdict }]),
        ),
      }),
    );
    this.status?.offer(summary);
  }

  /** Sees activities run: VM creates, drains, taints. Never changes what an activity returns or throws. */
  activityInterceptors(): ActivityInterceptorsFactory[] {
    return [
      (ctx) => ({
        inbound: {
          execute: async (input, next) => {
            const type = ctx.info.activityType;
            try {
              const result = await next(input);
              this.safely(() => this.activitySucceeded(type, input.args[0], result));
              return result;
            } catch (err) {
              this.safely(() => this.activityFailed(type, err));
              throw err;
            }
          },
        },
      }),
    ];
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'observing an activity failed');
    }
  }

  private activitySucceeded(type: string, arg: unknown, result: unknown): void {
    const { metrics } = this.deps;
    const a = (arg ?? {}) as Record<string, unknown>;
    const r = (result ?? {}) as Record<string, unknown>;
    if (type === 'launchVm' && r['reused'] === false && typeof a['group'] === 'string') {
      metrics.scaledUpNodes.inc();
      const waited = this.reaction.vmCreated(a['group']);
      if (waited !== undefined) metrics.reactionSeconds.observe(waited);
    } else if (type === 'drainNode' && Array.isArray(r['evicted'])) {
      metrics.evictedPods.inc({ eviction_result: 'succeeded' }, r['evicted'].length);
    } else if (type === 'taintAndCordon' && r['found'] === true && typeof a['node'] === 'string') {
      this.scaleDownStarted(a['node']);
    }
  }

  private activityFailed(type: string, err: unknown): void {
    if (type !== 'drainNode') return;
    const details = (err as { details?: unknown[] }).details?.[0] as { blocked?: Record<string, string> } | undefined;
    const blocked = Object.keys(details?.blocked ?? {}).length;
    if (blocked > 0) this.deps.metrics.evictedPods.inc({ eviction_result: 'failed' }, blocked);
  }

  /** At taint time: why this node goes (as CA counts it), and ScaleDownEmpty for an empty one. */
  private scaleDownStarted(node: string): void {
    const n = this.deps.cache.nodes().find((x) => x.metadata?.name === node);
    if (!n) return;
    const pods = this.deps.cache.pods().filter((p) => p.spec?.nodeName === node && countsForEmptiness(p));
    const reason: ScaleDownReason = !isNodeReady(n) ? 'unready' : pods.length === 0 ? 'empty' : 'underutilized';
    this.scaleDownReasons.delete(node);
    this.scaleDownReasons.set(node, reason);
    if (this.scaleDownReasons.size > MAX_REMEMBERED_SCALE_DOWNS)
      this.scaleDownReasons.delete(this.scaleDownReasons.keys().next().value as string);
    if (reason === 'empty' && this.statusObject) this.events?.enqueue([scaleDownEmptyEvent(this.statusObject, node)]);
  }

  /** The workflow sink behind workflow-interceptors.ts. */
  sinks(): InjectedSinks<OperationSinks> {
    return {
      operations: {
        started: { fn: (_info, start) => this.safely(() => this.operationStarted(start)) },
        finished: { fn: (_info, report) => this.safely(() => this.operationFinished(report)) },
      },
    };
  }

  private operationStarted(start: OperationStart): void {
    this.deps.log.info(
      { kind: start.kind, group: start.group, count: start.count, node: start.node },
      'operation started',
    );
    if (start.kind !== 'scale-up' || !start.group || !start.count || !this.statusObject) return;
    const group = this.deps.config.groups.find((g) => g.name === start.group);
    if (!group) return;
    const from =
      this.sizeWhenPlanned.get(start.group) ??
      this.lastSummary?.groups.find((g) => g.name === start.group)?.target ??
      this.deps.cache.nodes().filter((n) => n.metadata?.labels?.[HOSTGROUP_LABEL] === start.group).length;
    this.sizeWhenPlanned.delete(start.group);
    this.events?.enqueue([
      scaledUpGroupEvent(this.statusObject, { group: group.name, from, to: from + start.count, max: group.maxSize }),
    ]);
  }

  private operationFinished(r: OperationReport): void {
    const { metrics } = this.deps;
    const ok = r.outcome === 'succeeded' || r.outcome === 'removed' || r.outcome === 'node-gone';
    this.deps.log[ok ? 'info' : 'warn'](
      {
        kind: r.kind,
        outcome: r.outcome,
        group: r.group,
        node: r.node,
        ...(r.failureType && { failureType: r.failureType, message: r.message }),
      },
      'operation finished',
    );
    metrics.operations.inc({ kind: r.kind, outcome: r.outcome });
    if (r.kind === 'scale-up') {
      if (r.outcome === 'failed' || r.outcome === 'partial' || r.outcome === 'error')
        metrics.failedScaleUps.inc({ reason: failedScaleUpReason(r.failureType) });
      return;
    }
    const node = r.node;
    if (r.outcome === 'removed' && node) {
      const reason = this.scaleDownReasons.get(node) ?? scaleDownReasonFromText(r.reason);
      this.scaleDownReasons.delete(node);
      metrics.scaledDownNodes.inc({ reason });
    } else if (r.outcome === 'rolled-back' || r.outcome === 'error') {
      metrics.failedScaleDowns.inc({ reason: r.outcome === 'rolled-back' ? 'drainFailed' : 'error' });
      if (node) {
        const what =
          r.outcome === 'rolled-back' ? 'drain' : r.failureType === 'NodeIdentityMismatch' ? 'taint' : 'delete';
        this.events?.enqueue([scaleDownFailedEvent(node, what, `${r.failureType ?? 'Error'}: ${r.message ?? ''}`)]);
      }
    }
  }
}
