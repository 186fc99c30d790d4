import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { EvaluatorStatus, PlanSummary } from '../../workflows/evaluator-state.js';
import { autoscalerWorkflowId } from '../../shared/ids.js';
import { planQuery, statusQuery } from '../../workflows/messages.js';
import { ScalingPhaseKey } from '../../workflows/search-attributes.js';

/** Everything one frame of `top` shows; plain data, so a known state renders the same in a test. */
export interface TopData {
  cluster: string;
  namespace: string;
  /** The Temporal Web UI, if known; the view links the evaluator there. */
  uiUrl?: string;
  fetchedAt: number;
  status?: EvaluatorStatus;
  plan?: PlanSummary | null;
  /** ScalingPhase of each running operation, by workflow ID (from visibility, which may lag a second). */
  phases: Record<string, string>;
  /** Why there is nothing to show (no evaluator, server unreachable). */
  error?: string;
}

/** Operations whose phases one frame looks up; the rest show as "?" (status still lists them). */
const MAX_PHASE_LOOKUPS = 50;

/** One frame's data: the evaluator's `status` and `plan` queries, and the operations' ScalingPhase attribute. */
export async function fetchTopData(
  client: Client,
  target: { cluster: string; namespace: string; uiUrl?: string },
  now: () => number = Date.now,
): Promise<TopData> {
  const base = { cluster: target.cluster, namespace: target.namespace, uiUrl: target.uiUrl, phases: {} };
  const handle = client.workflow.getHandle(autoscalerWorkflowId(target.cluster));
  try {
    const [status, plan] = await Promise.all([handle.query(statusQuery), handle.query(planQuery)]);
    return { ...base, fetchedAt: now(), status, plan, phases: await operationPhases(client, status) };
  } catch (err) {
    const error =
      err instanceof WorkflowNotFoundError
        ? `no evaluator ${autoscalerWorkflowId(target.cluster)} in namespace ${target.namespace}: is a worker running with cluster-name ${target.cluster}?`
        : `cannot query ${autoscalerWorkflowId(target.cluster)}: ${(err as Error).message}`;
    return { ...base, fetchedAt: now(), error };
  }
}

async function operationPhases(client: Client, status: EvaluatorStatus): Promise<Record<string, string>> {
  const ids = Object.keys(status.operations).slice(0, MAX_PHASE_LOOKUPS);
  if (ids.length === 0) return {};
  const quoted = ids.map((id) => `'${id.replace(/'/g, "\\'")}'`).join(', ');
  const phases: Record<string, string> = {};
  for await (const w of client.workflow.list({ query: `WorkflowId IN (${quoted}) AND ExecutionStatus = 'Running'` })) {
    const phase = w.typedSearchAttributes.get(ScalingPhaseKey);
    if (phase) phases[w.workflowId] = phase;
  }
  return phases;
}

/** The local stack's UI port is the gRPC port + 1000 (7233 -> 8233), as `temporal server start-dev` defaults. */
export function guessUiUrl(address: string): string | undefined {
  const m = /^([^:]+):(\d+)$/.exec(address);
  if (!m || m[2] !== '7233') return undefined;
  return `http://${m[1] === '0.0.0.0' ? '127.0.0.1' : m[1]}:8233`;
}

/** The evaluator's page in the Temporal Web UI. */
export function evaluatorUiLink(uiUrl: string, namespace: string, cluster: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(autoscalerWorkflowId(cluster))}`;
}
