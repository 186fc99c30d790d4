/** What went wrong talking to Slicer, and whether trying again can help. */
export type SlicerErrorKind =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'Server'
  | 'Timeout'
  | 'Network'
  | 'InvalidResponse';

const RETRYABLE: Record<SlicerErrorKind, boolean> = {
  BadRequest: false,
  Unauthorized: false,
  Forbidden: false,
  NotFound: false,
  Conflict: false,
  Server: true,
  Timeout: true,
  Network: true,
  InvalidResponse: false,
};

/**
 * A failed Slicer call. The message names the method, path, status and Slicer's own error text; it never contains
 * the token or the Authorization header (the client never puts them anywhere an error can reach).
 */
export class SlicerError extends Error {
  override readonly name = 'SlicerError';
  readonly retryable: boolean;

  constructor(
    readonly kind: SlicerErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.retryable = RETRYABLE[kind];
  }
}

export function kindForStatus(status: number): SlicerErrorKind {
  if (status === 400 || status === 422) return 'BadRequest';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 408 || status === 504) return 'Timeout';
  return status === 429 || status >= 500 ? 'Server' : 'BadRequest';
}

export function isSlicerNotFound(err: unknown): boolean {
  return err instanceof SlicerError && err.kind === 'NotFound';
}

/** Treats "not found" as done, like Karpenter's IgnoreNotFound. */
export function ignoreSlicerNotFound(err: unknown): undefined {
  if (isSlicerNotFound(err)) return undefined;
  throw err;
}
