import { Context, heartbeat } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { ClusterCache, ClusterChange } from '../kube/cluster-cache.js';
import { isNodeReady } from '../kube/nodes.js';
import type { PlanRequest, PlanResult } from './plan-contract.js';

/** Coalesce a burst of watch events into one signal per window. */
const COALESCE_WINDOW_MS = 1000;
/** Heartbeat while idle, well inside the evaluator's 30 s heartbeat timeout. */
const IDLE_HEARTBEAT_MS = 10_000;

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
    const fingerprint = `${isNodeReady(node)}|${node.spec?.unschedulable ?? false}|${node.spec?.taints?.length ?? 0}`;
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

/** The planning and watch activities, over the worker's warm ClusterCache. */
export function createEvaluationActivities(deps: {
  cache: ClusterCache;
  plan: (req: PlanRequest) => Promise<PlanResult>;
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
          if ((err as Error).name === 'WorkflowNotFoundError') closed.push({ workflowId, status: 'NOT_FOUND' });
          else throw err;
        }
      }
      return closed;
    },

    /**
     * Runs until cancelled: listens to the cache and signals the evaluator `clusterChanged` with a small summary,
     * at most once per second. If this worker dies, the heartbeat timeout moves the watch to another replica.
     */
    async watchCluster(args: { evaluatorId: string }): Promise<void> {
      const ctx = Context.current();
      const handle = ctx.client.workflow.getHandle(args.evaluatorId);
      const previous = new Map<string, string>();
      let reasons: string[] = [];
      let changes = 0;
      const unsubscribe = deps.cache.subscribe((change) => {
        const reason = describeChange(change, previous);
        if (!reason) return;
        changes += 1;
        if (reasons.length < 20) reasons.push(reason);
      });
      try {
        let lastBeat = 0;
        for (;;) {
          await ctx.sleep(COALESCE_WINDOW_MS);
          if (changes > 0) {
            const summary = { reasons, changes };
            reasons = [];
            changes = 0;
            try {
              await handle.signal('clusterChanged', summary);
            } catch (err) {
              // The evaluator this watch feeds is gone (terminated by hand, or the demo's end): nobody is left to
              // tell, so the job is done. Failing here would only log a stack trace for a normal shutdown.
              if (!(err instanceof WorkflowNotFoundError)) throw err;
              ctx.log.info(`evaluator ${args.evaluatorId} is gone; the watch ends`);
              return;
            }
            heartbeat({ lastSignal: summary.reasons[0], changes: summary.changes });
            lastBeat = Date.now();
          } else if (Date.now() - lastBeat >= IDLE_HEARTBEAT_MS) {
            heartbeat({ idle: true });
            lastBeat = Date.now();
          }
        }
      } finally {
        unsubscribe();
      }
    },
  };
}
