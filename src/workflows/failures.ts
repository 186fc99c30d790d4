import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  log,
} from '@temporalio/workflow';
import { operationFinishedSignal, type OperationFinished } from './messages.js';

/** The ApplicationFailure type behind an activity failure, e.g. `DrainTimeout`. */
export function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** The innermost human message of an activity failure. */
export function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(err);
}

/** The first details value of an ApplicationFailure, if any. */
export function failureDetails<T>(err: unknown): T | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.details?.[0] as T | undefined) : undefined;
}

/**
 * Tells the evaluator an operation is over. Best effort: an operation started by hand with no evaluator running
 * still finishes, and the evaluator also learns sizes from the cluster on its next evaluation.
 */
export async function notifyFinished(notify: string | undefined, outcome: OperationFinished): Promise<void> {
  if (!notify) return;
  try {
    // Also when the operation itself was cancelled: the evaluator must still hear that it is over.
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(notify).signal(operationFinishedSignal, outcome),
    );
  } catch (err) {
    log.warn('could not notify the evaluator', { notify, error: String(err) });
  }
}

/** The `notify` field of a raw, possibly invalid, workflow input. */
export function notifyOf(raw: unknown): string | undefined {
  const n = (raw as { notify?: unknown } | null)?.notify;
  return typeof n === 'string' && n.length > 0 ? n : undefined;
}
