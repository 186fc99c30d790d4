import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

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
