import { Context, heartbeat } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { ClusterCache, ClusterChange } from '../kube/cluster-cache.js';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';
import { VM_ID_LABEL } from '../shared/ids.js';
import type { PlanRequest, PlanResult } from '../shared/plan-contract.js';
import {
  MAX_CHANGE_REASON,
  type NodeLookup,
  type OperationRecord,
  type RemovalCandidate,
} from '../shared/operations.js';
import type { FullPlan } from './plan-scaling.js';

/**
 * The first change after a quiet spell is signalled at once; changes within this window after a signal are
 * gathered into the next one, so a burst of 1,000 pods is a handful of signals, not 1,000.
 */
export const COALESCE_WINDOW_MS = 250;
/** Heartbeat while idle: cancellation reaches an activity only through a heartbeat. */
const IDLE_HEARTBEAT_MS = 1000;
/** A restarted evaluator rebuilds its books from at most this many running operations. */
const MAX_REBUILT_OPERATIONS = 1000;

function isUnschedulable(pod: V1Pod): boolean {
  return (
    pod.status?.conditions?.some(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    ) ?? false
  );
}

/**
 * Says whether a change can alter the plan, and how to describe it. Pod updates are frequent (status churn), so
 * only those that change schedulability or leave a node count; node heartbeats do not count at all.
 */
export function describeChange(change: ClusterChange, previous: Map<string, string>): string | undefined {
  if (change.kind === 'pdb') return `PodDisruptionBudget ${change.key} ${change.verb}`;
  if (change.kind === 'node') {
    const node = change.object as V1Node;
    const fingerprint = `${isNodeReady(node)}|${node.spec?.unschedulable ?? false}|${(node.spec?.taints ?? []).map((t) => t.key).join(',')}`;
    const before = previous.get(`node:${change.key}`);
    if (change.verb === 'delete') {
      previous.delete(`node:${change.key}`);
      return `node ${change.key} deleted`;
    }
    previous.set(`node:${change.key}`, fingerprint);
    if (before === fingerprint) return undefined;
    return change.verb === 'add'
      ? `node ${change.key} added`
      : `node ${change.key} ${isNodeReady(node) ? 'Ready' : 'not Ready'}`;
  }
  const pod = change.object as V1Pod;
  if (change.verb === 'delete') {
    previous.delete(`pod:${change.key}`);
    return pod.spec?.nodeName ? `pod ${change.key} left ${pod.spec.nodeName}` : `pending pod ${change.key} deleted`;
  }
  const fingerprint = `${isUnschedulable(pod)}|${pod.spec?.nodeName ?? ''}`;
  const before = previous.get(`pod:${change.key}`);
  previous.set(`pod:${change.key}`, fingerprint);
  if (before === fingerprint) return undefined;
  if (isUnschedulable(pod)) return `pod ${change.key} Unschedulable`;
  if (change.verb === 'add' && pod.spec?.nodeName) return `pod ${change.key} on ${pod.spec.nodeName}`;
  return before === undefined ? undefined : `pod ${change.key} scheduled`;
}

/** The planning, watch and bookkeeping activities, over the worker's warm ClusterCache. */
export function createEvaluationActivities(deps: {
  cache: ClusterCache;
  plan: (req: PlanRequest) => Promise<PlanResult>;
  lastFullPlan?: () => FullPlan | undefined;
  managedGroups?: ReadonlySet<string>;
}) {
  return {
    /** Plans over this worker's cache; the evaluator's state comes in, decisions with reasons go out. */
    async planScaling(req: PlanRequest): Promise<PlanResult> {
      return deps.plan(req);
    },

    /**
     * Which of these operations are no longer running (terminated or failed without reporting back), so the
     * evaluator can stop counting them; a workflow that cannot be found counts as closed.
     */
    async closedOperations(args: { workflowIds: string[] }): Promise<{ workflowId: string; status: string }[]> {
      const client = Context.current().client;
      const closed: { workflowId: string; status: string }[] = [];
      for (const workflowId of args.workflowIds) {
        try {
          const d = await client.workflow.getHandle(workflowId).describe();
          if (d.status.name !== 'RUNNING') closed.push({ workflowId, status: d.status.name });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push({ workflowId, status: 'NOT_FOUND' });
          else throw err;
        }
      }
      return closed;
    },

    /**
     * The scale-ups and scale-downs of this cluster still running, from Temporal's visibility (their search
     * attribute and memo), for an evaluator that starts without state.
     */
    async runningOperations(args: { cluster: string }): Promise<{ workflowId: string; record: OperationRecord }[]> {
      const client = Context.current().client;
      const out: { workflowId: string; record: OperationRecord }[] = [];
      const query = `AutoscalerCluster = '${args.cluster.replace(/'/g, '')}' AND ExecutionStatus = 'Running' AND WorkflowType IN ('scaleUpWorkflow', 'scaleDownWorkflow')`;
      for await (const w of client.workflow.list({ query })) {
        const memo = (w.memo ?? {}) as Partial<OperationRecord>;
        if (memo.kind !== 'scale-up' && memo.kind !== 'scale-down') continue;
        if (typeof memo.group !== 'string') continue;
        out.push({
          workflowId: w.workflowId,
          record: {
            kind: memo.kind,
            group: memo.group,
            ...(typeof memo.count === 'number' && { count: memo.count }),
            ...(typeof memo.opId === 'string' && { opId: memo.opId }),
            ...(typeof memo.node === 'string' && { node: memo.node }),
            startedAt: typeof memo.startedAt === 'number' ? memo.startedAt : w.startTime.getTime(),
            reason:
              `${typeof memo.reason === 'string' ? memo.reason : ''} (found running when the evaluator started)`.slice(
                0,
                500,
              ),
          },
        });
        if (out.length >= MAX_REBUILT_OPERATIONS) break;
      }
      return out;
    },

    /** A node as operator commands need it, from the cache: is it ours, which group and VM. */
    async lookupNode(args: { node: string }): Promise<NodeLookup> {
      const node = deps.cache.nodes().find((n) => n.metadata?.name === args.node);
      const labels = node?.metadata?.labels ?? {};
      const group = labels[HOSTGROUP_LABEL];
      if (!node || !group || !(deps.managedGroups?.has(group) ?? true)) return { managed: false };
      return {
        managed: true,
        group,
        hostname: labels[HOSTNAME_LABEL] ?? args.node,
        ...(labels[VM_ID_LABEL] && { vmId: labels[VM_ID_LABEL] }),
      };
    },

    /**
     * A group's nodes in the order an operator's scale-down should take them: removable, then unneeded, then the
     * rest (by the last full plan on this worker); nodes already being removed are left out.
     */
    async removalCandidates(args: { group: string; busy: string[] }): Promise<RemovalCandidate[]> {
      const busy = new Set(args.busy);
      const verdicts = deps.lastFullPlan?.()?.plan.nodeVerdicts ?? {};
      const rank = (name: string) => {
        const kind = verdicts[name]?.kind;
        return kind === 'removable' ? 0 : kind === 'unneeded' ? 1 : 2;
      };
      return deps.cache
        .nodes()
        .filter((n) => n.metadata?.labels?.[HOSTGROUP_LABEL] === args.group && !busy.has(n.metadata?.name ?? ''))
        .map((n) => ({
          node: n.metadata!.name!,
          hostname: n.metadata?.labels?.[HOSTNAME_LABEL] ?? n.metadata!.name!,
          ...(n.metadata?.labels?.[VM_ID_LABEL] && { vmId: n.metadata.labels[VM_ID_LABEL] }),
        }))
        .sort((a, b) => rank(a.node) - rank(b.node) || (a.node < b.node ? -1 : 1));
    },

    /**
     * Runs until cancelled: listens to the cache and signals one evaluator run `clusterChanged` with a small
     * summary — at once after a quiet spell, then at most once per COALESCE_WINDOW_MS. It signals that run only:
     * once the run has continued as new (or was terminated), its signal fails and this watch ends, so a watch
     * left over from an earlier run never feeds the next one. If this worker dies, the heartbeat timeout moves the
     * watch to another replica.
     */
    async watchCluster(args: { evaluatorId: string; runId?: string }): Promise<void> {
      const ctx = Context.current();
      const handle = ctx.client.workflow.getHandle(args.evaluatorId, args.runId);
      const previous = new Map<string, string>();
      // A watch that (re)starts has missed whatever happened while no watch ran (a worker restart, a failover):
      // its first signal asks for a plan at once rather than at the next scan.
      let reasons: string[] = [`watch started on this worker (attempt ${ctx.info.attempt})`];
      let changes = 1;
      let wake: () => void = () => undefined;
      const unsubscribe = deps.cache.subscribe((change) => {
        const reason = describeChange(change, previous);
        if (!reason) return;
        changes += 1;
        if (reasons.length < 20) reasons.push(reason.slice(0, MAX_CHANGE_REASON));
        wake();
      });
      try {
        let lastSignal = 0;
        for (;;) {
          if (changes === 0) {
            // Cancellation-aware wait for the next change (or a heartbeat's worth of time).
            await Promise.race([new Promise<void>((resolve) => (wake = resolve)), ctx.sleep(IDLE_HEARTBEAT_MS)]);
            heartbeat({ idle: changes === 0 });
            continue;
          }
          const since = Date.now() - lastSignal;
          if (since < COALESCE_WINDOW_MS) await ctx.sleep(COALESCE_WINDOW_MS - since);
          const summary = { reasons, changes };
          reasons = [];
          changes = 0;
          try {
            await handle.signal('clusterChanged', summary);
          } catch (err) {
            // The evaluator this watch feeds is gone (its run continued as new, was terminated by hand, or the demo
            // ended): nobody is left to tell, so the job is done; a stack trace here would only alarm.
            if (err instanceof WorkflowNotFoundError) {
              ctx.log.info(`evaluator ${args.evaluatorId} is gone; the watch ends`);
              return;
            }
            throw err;
          }
          lastSignal = Date.now();
          heartbeat({ lastSignal: summary.reasons[0], changes: summary.changes });
        }
      } finally {
        unsubscribe();
      }
    },
  };
}
