import type { CoreV1Api } from '@kubernetes/client-node';
import type { Config, GroupConfig } from '../config/load.js';
import type { FlagOptions } from '../config/flags.js';
import type { ClusterCache } from '../kube/cluster-cache.js';
import { ReasonAnnotations } from '../kube/annotations.js';
import { EventPublisher, planEvents } from '../kube/events.js';
import { toNodeInfo, toPdbInfo, toPodInfo } from '../kube/snapshot.js';
import { writeStatusConfigMap } from '../kube/status-configmap.js';
import { DEFAULT_PLANNER_OPTIONS, plan, type GroupInfo, type PlannerOptions } from '../planner/index.js';
import type { HostGroup } from '../slicer/schemas.js';
import { MAX_POD_VERDICTS, type PlanRequest, type PlanResult, type Verdict } from './plan-contract.js';

/** Host group shapes change rarely; one look per group every few minutes is plenty. */
const HOST_GROUP_TTL_MS = 5 * 60_000;

export interface PlannerDeps {
  config: Config;
  flags: FlagOptions;
  cache: ClusterCache;
  /** The Slicer host groups of one node group's daemon. */
  listHostGroups: (group: string) => Promise<HostGroup[]>;
  core?: CoreV1Api;
  /** Namespace of the status ConfigMap; none = do not write it. */
  statusNamespace?: string;
  log?: (msg: string) => void;
  now?: () => number;
}

/** cloud-config + flags -> planner options; a flag beats [global], a [nodegroup] setting beats both for its group. */
export function plannerOptions(config: Config, flags: FlagOptions): PlannerOptions {
  return {
    ...DEFAULT_PLANNER_OPTIONS,
    expander: flags.expander ?? config.expander,
    expendablePodsPriorityCutoff: flags.expendablePodsPriorityCutoff,
    newPodScaleUpDelayMs: flags.newPodScaleUpDelayMs,
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

/**
 * Builds the function behind the planScaling activity: snapshot of this worker's cache + the evaluator's state ->
 * planner -> a small PlanResult; decisions also go out as Events and the status ConfigMap (best effort).
 */
export function createPlanScaling(deps: PlannerDeps): (req: PlanRequest) => Promise<PlanResult> {
  const { config, flags, cache } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const hostGroups = new Map<string, { host: HostGroup; at: number }>();
  const events = deps.core ? new EventPublisher(deps.core) : undefined;
  const annotations = deps.core ? new ReasonAnnotations(deps.core, cache, log) : undefined;
  const options = plannerOptions(config, flags);
  const managed = new Set(config.groups.map((g) => g.name));

  async function template(g: GroupConfig): Promise<HostGroup | undefined> {
    const cached = hostGroups.get(g.name);
    if (cached && now() - cached.at < HOST_GROUP_TTL_MS) return cached.host;
    try {
      const host = (await deps.listHostGroups(g.name)).find((h) => h.name === g.name);
      if (!host) {
        log(`node group ${g.name}: the Slicer daemon at ${g.slicerUrl} has no host group of that name`);
        return cached?.host;
      }
      hostGroups.set(g.name, { host, at: now() });
      return host;
    } catch (err) {
      // Keep planning with the last known template; without one the group cannot scale up this time.
      log(`node group ${g.name}: cannot read host groups from Slicer (${(err as Error).message})`);
      return cached?.host;
    }
  }

  return async (req: PlanRequest): Promise<PlanResult> => {
    const at = now();
    const groups: GroupInfo[] = [];
    for (const g of config.groups) {
      const host = await template(g);
      if (host) groups.push(groupInfo(g, host));
    }
    const nodes = cache.nodes().map((n) => toNodeInfo(n, managed));
    const pods = cache.pods().map(toPodInfo);
    const result = plan({
      now: at,
      nodes,
      pods,
      pdbs: cache.pdbs().map(toPdbInfo),
      groups,
      state: { ...req },
      options,
    });
    const byName = new Map(config.groups.map((g) => [g.name, g]));
    const pendingKeys = Object.keys(result.podVerdicts);
    // Pods that will not be helped come first: they are what an operator asks about.
    const rank = (v: Verdict) => (v.kind === 'no-scale-up' ? 0 : v.kind === 'scale-up' ? 1 : 2);
    const kept = pendingKeys
      .sort((a, b) => rank(result.podVerdicts[a]!) - rank(result.podVerdicts[b]!) || (a < b ? -1 : 1))
      .slice(0, MAX_POD_VERDICTS);
    const podReasons: Record<string, number> = {};
    for (const v of Object.values(result.podVerdicts)) podReasons[v.reason] = (podReasons[v.reason] ?? 0) + 1;
    const out: PlanResult = {
      at,
      scaleUps: result.scaleUps.map((s) => ({
        group: s.group,
        count: s.count,
        reason: s.reason,
        provisionTimeoutMs: byName.get(s.group)!.provisionTimeoutMs,
      })),
      scaleDowns: result.scaleDowns.map((s) => ({
        node: s.node,
        group: s.group,
        hostname: s.hostname ?? s.node,
        reason: s.reason,
        drainTimeoutMs: byName.get(s.group)!.drainTimeoutMs,
      })),
      unneededSince: result.unneeded,
      groups: Object.fromEntries(
        config.groups.map((g) => {
          const own = nodes.filter((n) => n.group === g.name);
          return [
            g.name,
            {
              size: own.length,
              ready: own.filter((n) => n.ready).length,
              min: g.minSize,
              max: g.maxSize,
              provisionTimeoutMs: g.provisionTimeoutMs,
              drainTimeoutMs: g.drainTimeoutMs,
            },
          ];
        }),
      ),
      nodes: Object.fromEntries(
        nodes
          .filter((n) => n.group !== undefined && result.nodeVerdicts[n.name])
          .map((n) => [
            n.name,
            { group: n.group!, hostname: n.hostname ?? n.name, verdict: result.nodeVerdicts[n.name]! },
          ]),
      ),
      pods: Object.fromEntries(kept.map((k) => [k, result.podVerdicts[k]!])),
      pendingPods: pendingKeys.length,
      podReasons,
      ...(result.blocked && { blocked: result.blocked }),
    };
    annotations?.afterPlan(out, pendingKeys); // verdicts on Nodes and Pods, written in the background
    if (events) await events.publish(planEvents(out)).catch(() => 0);
    if (deps.core && deps.statusNamespace)
      await writeStatusConfigMap(deps.core, deps.statusNamespace, out, config.clusterName).catch(() => undefined);
    return out;
  };
}
