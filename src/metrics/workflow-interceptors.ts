// Runs inside the workflow sandbox (registered as a workflow interceptor module): it reports how each scale-up and
// scale-down workflow started and ended through a sink, so the worker can count operations by kind and outcome and
// raise cluster-autoscaler's ScaledUpGroup / ScaleDownFailed events. Sinks are not called during replay, and nothing
// here adds a command to history, so registering it changes no workflow's behaviour. No Node built-ins here.
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxySinks,
  workflowInfo,
  type Next,
  type Sinks,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';

/** Which workflow type is which operation kind. */
export const OPERATION_KINDS: Record<string, 'scale-up' | 'scale-down'> = {
  scaleUpWorkflow: 'scale-up',
  scaleDownWorkflow: 'scale-down',
};

export interface OperationStart {
  kind: 'scale-up' | 'scale-down';
  group?: string;
  count?: number;
  node?: string;
  /** The planner's or operator's reason (cut to 300 characters). */
  reason?: string;
}

export interface OperationReport extends OperationStart {
  /** scale-up: succeeded | partial | failed; scale-down: removed | node-gone | rolled-back; both: error | cancelled. */
  outcome: string;
  requested?: number;
  joined?: number;
  /** The failure type of the first failed slot, the rollback, or the error (e.g. NodeNotReadyInTime, DrainTimeout). */
  failureType?: string;
  message?: string;
}

export interface OperationSinks extends Sinks {
  operations: {
    started(start: OperationStart): void;
    finished(report: OperationReport): void;
  };
}

const cut = (s: unknown, n: number): string | undefined => (typeof s === 'string' ? s.slice(0, n) : undefined);

/** The start of an operation from its raw input (validated by the workflow itself, so read defensively). */
export function describeStart(kind: 'scale-up' | 'scale-down', input: unknown): OperationStart {
  const i = (input ?? {}) as Record<string, unknown>;
  return {
    kind,
    ...(typeof i['group'] === 'string' && { group: i['group'] }),
    ...(typeof i['count'] === 'number' && { count: i['count'] }),
    ...(typeof i['node'] === 'string' && { node: i['node'] }),
    ...(typeof i['reason'] === 'string' && { reason: cut(i['reason'], 300) }),
  };
}

/** How an operation ended, from its result. */
export function describeResult(start: OperationStart, result: unknown): OperationReport {
  const r = (result ?? {}) as Record<string, unknown>;
  if (start.kind === 'scale-up') {
    const requested = typeof r['requested'] === 'number' ? r['requested'] : (start.count ?? 0);
    const joined = typeof r['joined'] === 'number' ? r['joined'] : 0;
    const slots = Array.isArray(r['slots']) ? (r['slots'] as Record<string, unknown>[]) : [];
    const failed = slots.find((s) => s['outcome'] === 'failed');
    return {
      ...start,
      outcome: joined >= requested ? 'succeeded' : joined === 0 ? 'failed' : 'partial',
      requested,
      joined,
      ...(failed && { failureType: cut(failed['reason'], 100), message: cut(failed['message'], 500) }),
    };
  }
  const outcome = typeof r['outcome'] === 'string' ? r['outcome'] : 'completed';
  return {
    ...start,
    outcome,
    ...(typeof r['node'] === 'string' && { node: r['node'] }),
    ...(outcome === 'rolled-back' && { failureType: cut(r['reason'], 100), message: cut(r['message'], 500) }),
  };
}

/** How an operation that threw ended. */
export function describeError(start: OperationStart, err: unknown): OperationReport {
  if (isCancellation(err)) return { ...start, outcome: 'cancelled' };
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return {
    ...start,
    outcome: 'error',
    failureType: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : 'Error',
    message: cut(cause instanceof Error ? cause.message : String(err), 500),
  };
}

const { operations } = proxySinks<OperationSinks>();

class OperationReporter implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const kind = OPERATION_KINDS[workflowInfo().workflowType];
    if (!kind) return next(input);
    const start = describeStart(kind, input.args[0]);
    operations.started(start);
    try {
      const result = await next(input);
      operations.finished(describeResult(start, result));
      return result;
    } catch (err) {
      operations.finished(describeError(start, err));
      throw err;
    }
  }
}

/** The module's interceptors, as Temporal looks them up (`interceptors` export). */
export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new OperationReporter()] });
