import { ApplicationFailure } from '@temporalio/activity';
import type { Config, GroupConfig } from '../config/load.js';
import type { FlagOptions } from '../config/flags.js';
import type { ClusterCache } from '../kube/cluster-cache.js';
import { toNodeInfo, toPdbInfo, toPodInfo } from '../kube/snapshot.js';
import {
  DEFAULT_PLANNER_OPTIONS,
  plan,
  type GroupInfo,
  type NodeInfo,
  type Plan,
  type PlannerOptions,
} from '../planner/index.js';
import { inFlightView } from '../planner/in-flight.js';
import type { HostGroup } from '../slicer/schemas.js';
import {
  MAX_NODE_VERDICTS,
  MAX_POD_VERDICTS,
  MAX_TIMER_DELTA,
  MAX_VERDICT_MESSAGE,
  type NodeView,
  type PlanRequest,
  type PlanResult,
  type Verdict,
} from '../shared/plan-contract.js';
import { TimerStore } from './timer-store.js';

/** Host group shapes change rarely; one look per group every few minutes is plenty. */
const HOST_GROUP_TTL_MS = 5 * 60_000;
/** A host-group read waits this long; a hung daemon must not hold up planning for the other groups. */
export const HOST_GROUP_TIMEOUT_MS = 3000;

export interface PlannerDeps {
  config: Config;
  flags: FlagOptions;
  cache: ClusterCache;
  /** The Slicer host groups of one node group's daemon. */
  listHostGroups: (group: string, signal: AbortSignal) => Promise<HostGroup[]>;
  /**
   * Told each answer after it is made; must return at once. Events, the status ConfigMap and metrics hang off this
   * (src/metrics/observer.ts), so the evaluator never waits for them.
   */
  afterPlan?: (req: PlanRequest, result: PlanResult, timings: PlanTimings, full: Plan) => void;
  log?: (msg: string) => void;
  now?: () => number;
}

/** Where one planScaling call spent its time, in ms. */
export interface PlanTimings {
  totalMs: number;
  hostGroupsMs: number;
  planMs: number;
}

/** The last full plan of an evaluator, kept in the worker for operator commands that need every node's verdict. */
export interface FullPlan {
  at: number;
  plan: Plan;
  nodes: NodeInfo[];
}

/** cloud-config + flags -> planner options; a flag beats [global], a [nodegroup] setting beats both for its group. */
export function plannerOptions(config: Config, flags: FlagOptions): PlannerOptions {
  return {
    ...DEFAULT_PLANNER_OPTIONS,
    expander: flags.expander ?? config.expander,
    expendablePodsPriorityCutoff: flags.expendablePodsPriorityCutoff,
    newPodScaleUpDelayMs: flags.newPodScaleUpDelayMs,
    trustSchedulerAfterMs: flags.trustSchedulerAfterMs,
    scaleDownEnabled: flags.scaleDownEnabled ?? config.scaleDownEnabled,
    scaleDownUnreadyTimeMs: flags.scaleDownUnreadyTimeMs,
    scaleDownDelayAfterAddMs: flags.scaleDownDelayAfterAddMs,
    scaleDownDelayAfterDeleteMs: flags.scaleDownDelayAfterDeleteMs,
    scaleDownDelayAfterFailureMs: flags.scaleDownDelayAfterFailureMs,
    maxScaleDownParallelism: flags.maxScaleDownParallelism,
    maxNodesTotal: flags.maxNodesTotal,
    balanceSimilarNodeGroups: flags.balanceSimilarNodeGroups,
  };
}

/** The node group as the planner needs it: limits from the config, the template from the Slicer host group. */
export function groupInfo(g: GroupConfig, host: HostGroup): GroupInfo {
  return {
    name: g.name,
    template: {
      allocatable: { cpuMilli: host.cpus * 1000, memoryBytes: host.ramBytes, pods: 110 },
      arch: g.arch ?? host.arch,
      labels: g.labels,
      taints: g.taints.map((t) => ({ key: t.key, value: t.value || undefined, effect: t.effect })),
    },
    minSize: g.minSize,
    maxSize: g.maxSize,
    priority: g.priority,
    scaleDownUnneededTimeMs: g.scaleDownUnneededTimeMs,
    scaleDownUtilizationThreshold: g.scaleDownUtilizationThreshold,
  };
}

function cut(v: Verdict): Verdict {
  return v.message.length > MAX_VERDICT_MESSAGE
    ? { ...v, message: `${v.message.slice(0, MAX_VERDICT_MESSAGE - 1)}…` }
    : v;
}

function countBy<T>(values: Iterable<T>, key: (v: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[key(v)] = (out[key(v)] ?? 0) + 1;
  return out;
}

/**
 * Builds the planScaling activity and what operator commands read: snapshot of this worker's cache + the
 * evaluator's state -> planner -> a small PlanResult (capped verdicts, timer deltas). The full plan stays here for
 * operator commands; Events, the status ConfigMap and metrics follow from `afterPlan`, after the answer.
 */
export function createPlanScaling(deps: PlannerDeps): {
  planScaling: (req: PlanRequest) => Promise<PlanResult>;
  lastFullPlan: () => FullPlan | undefined;
} {
  const { config, flags, cache } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const hostGroups = new Map<string, { host: HostGroup; at: number }>();
  const options = plannerOptions(config, flags);
  const managed = new Set(config.groups.map((g) => g.name));
  const timers = new TimerStore();
  let lastFull: FullPlan | undefined;

  /** The group's template, read with a short timeout; the last good one when the daemon does not answer. */
  async function template(g: GroupConfig): Promise<{ host?: HostGroup; problem?: string }> {
    const cached = hostGroups.get(g.name);
    if (cached && now() - cached.at < HOST_GROUP_TTL_MS) return { host: cached.host };
    try {
      const host = (await deps.listHostGroups(g.name, AbortSignal.timeout(HOST_GROUP_TIMEOUT_MS))).find(
        (h) => h.name === g.name,
      );
      if (!host) return { host: cached?.host, problem: `the Slicer daemon has no host group named ${g.name}` };
      hostGroups.set(g.name, { host, at: now() });
      return { host };
    } catch (err) {
      const problem = `cannot read host groups from Slicer (${(err as Error).message.slice(0, 200)})`;
      log(`node group ${g.name}: ${problem}`);
      return { host: cached?.host, problem };
    }
  }

  async function planScaling(req: PlanRequest): Promise<PlanResult> {
    const at = now();
    const started = performance.now();
    const stale = cache.staleness(at);
    if (stale)
      throw ApplicationFailure.retryable(
        `the worker's view of the cluster is not complete (${stale}); not planning from it`,
        'CacheNotSynced',
      );
    const resolved = timers.resolve(req.evaluatorId, req.timers);
    if (resolved === undefined) return { ...emptyResult(at), needTimers: true };

    // Every group's template at once: one slow daemon costs HOST_GROUP_TIMEOUT_MS, not one per group.
    const templates = await Promise.all(config.groups.map(template));
    const templatesRead = performance.now();
    const groups: GroupInfo[] = [];
    const unavailable: Record<string, string> = {};
    config.groups.forEach((g, i) => {
      const t = templates[i]!;
      if (t.host) groups.push(groupInfo(g, t.host));
      else unavailable[g.name] = t.problem ?? 'no template';
    });
    const nodes = cache.nodes().map((n) => toNodeInfo(n, managed));
    const { evaluatorId: _id, timers: _ref, ...state } = req;
    const input = {
      now: at,
      nodes,
      pods: cache.pods().map(toPodInfo),
      pdbs: cache.pdbs().map(toPdbInfo),
      groups,
      state: { ...state, unneededSince: resolved.truth },
      options,
    };
    const result = plan(input);
    const planned = performance.now();
    namesUnavailableGroups(result.podVerdicts, unavailable);
    const view = inFlightView(input);
    lastFull = { at, plan: result, nodes };
    const byName = new Map(config.groups.map((g) => [g.name, g]));

    // Against what the evaluator holds, so changes a capped delta left out go in the next one.
    const delta = timers.delta(resolved.held, result.unneeded, MAX_TIMER_DELTA);
    timers.store(req.evaluatorId, req.timers, resolved.held, delta, result.unneeded);

    // Pods that will not be helped come first, then nodes about to go or blocked: what an operator asks about.
    const podRank = (v: Verdict) => (v.kind === 'no-scale-up' ? 0 : v.kind === 'scale-up' ? 1 : 2);
    const pods = Object.entries(result.podVerdicts)
      .sort(([a, x], [b, y]) => podRank(x) - podRank(y) || (a < b ? -1 : 1))
      .slice(0, MAX_POD_VERDICTS);
    const nodeRank = (v: Verdict) =>
      v.kind === 'removable' ? 0 : v.kind === 'unneeded' ? 1 : v.reason === 'NotUnderutilized' ? 3 : 2;
    const managedNodes = nodes.filter((n) => n.group !== undefined && result.nodeVerdicts[n.name]);
    const nodeViews: [string, NodeView][] = managedNodes
      .map((n): [string, NodeView] => [
        n.name,
        {
          group: n.group!,
          hostname: n.hostname ?? n.name,
          ...(n.vmId && { vmId: n.vmId }),
          verdict: cut(result.nodeVerdicts[n.name]!),
        },
      ])
      .sort(([a, x], [b, y]) => nodeRank(x.verdict) - nodeRank(y.verdict) || (a < b ? -1 : 1))
      .slice(0, MAX_NODE_VERDICTS);

    const out: PlanResult = {
      at,
      scaleUps: result.scaleUps.map((s) => ({
        group: s.group,
        count: s.count,
        reason: s.reason.slice(0, 500),
        provisionTimeoutMs: byName.get(s.group)!.provisionTimeoutMs,
      })),
      scaleDowns: result.scaleDowns.map((s) => {
        const node = nodes.find((n) => n.name === s.node);
        return {
          node: s.node,
          group: s.group,
          hostname: s.hostname ?? s.node,
          ...(node?.vmId && { vmId: node.vmId }),
          reason: s.reason.slice(0, 500),
          drainTimeoutMs: byName.get(s.group)!.drainTimeoutMs,
        };
      }),
      timers: delta,
      groups: Object.fromEntries(
        config.groups.map((g) => {
          const own = nodes.filter((n) => n.group === g.name);
          return [
            g.name,
            {
              size: own.length,
              ready: own.filter((n) => n.ready).length,
              inFlight: view.unregistered[g.name] ?? 0,
              min: g.minSize,
              max: g.maxSize,
              provisionTimeoutMs: g.provisionTimeoutMs,
              drainTimeoutMs: g.drainTimeoutMs,
              ...(unavailable[g.name] && { unavailable: unavailable[g.name] }),
            },
          ];
        }),
      ),
      totalNodes: nodes.length,
      maxNodesTotal: options.maxNodesTotal,
      nodes: Object.fromEntries(nodeViews),
      nodeReasons: countBy(
        managedNodes.map((n) => result.nodeVerdicts[n.name]!),
        (v) => v.reason,
      ),
      pods: Object.fromEntries(pods.map(([k, v]) => [k, cut(v)])),
      pendingPods: Object.keys(result.podVerdicts).length,
      podReasons: countBy(Object.values(result.podVerdicts), (v) => v.reason),
      ...(result.blocked && { blocked: result.blocked }),
    };
    // After the answer, not before: events, the ConfigMap and metrics must never slow a decision down.
    try {
      deps.afterPlan?.(
        req,
        out,
        {
          totalMs: performance.now() - started,
          hostGroupsMs: templatesRead - started,
          planMs: planned - templatesRead,
        },
        result,
      );
    } catch {
      // Observing a plan must never fail it.
    }
    return out;
  }

  return { planScaling, lastFullPlan: () => lastFull };
}

/**
 * A pod no group can help is told which groups were left out and why (a daemon that did not answer, a host group
 * missing), so "no group fits" never hides a group that might have.
 */
export function namesUnavailableGroups(
  verdicts: Record<string, { kind: string; message: string }>,
  unavailable: Record<string, string>,
): void {
  const left = Object.entries(unavailable);
  if (left.length === 0) return;
  const note = `; not considered: ${left.map(([g, why]) => `${g} (${why})`).join(', ')}`.slice(0, 200);
  for (const v of Object.values(verdicts)) if (v.kind === 'no-scale-up') v.message += note;
}

function emptyResult(at: number): PlanResult {
  return {
    at,
    scaleUps: [],
    scaleDowns: [],
    timers: { set: {}, cleared: [] },
    groups: {},
    totalNodes: 0,
    maxNodesTotal: 0,
    nodes: {},
    nodeReasons: {},
    pods: {},
    pendingPods: 0,
    podReasons: {},
  };
}
