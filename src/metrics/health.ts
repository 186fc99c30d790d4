// Liveness that means something: the worker is alive only while it can reach what it works with. Each dependency
// (Temporal, the kube-apiserver) is probed in the background; /healthz fails once one has been unreachable for
// UNREACHABLE_AFTER_MS. A restart does not fix an outage, so the window is long enough to ride out a blip.

/** How often each dependency is probed. */
export const PROBE_INTERVAL_MS = 10_000;
/** A probe that takes longer than this counts as failed. */
export const PROBE_TIMEOUT_MS = 5_000;
/** /healthz fails once a dependency has had no successful probe for this long. */
export const UNREACHABLE_AFTER_MS = 60_000;

export interface ProbeState {
  name: string;
  ok: boolean;
  /** Seconds since the last successful probe (or since start, before the first one). */
  sinceOkS: number;
  error?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One dependency, probed every PROBE_INTERVAL_MS in the background. */
export class DependencyProbe {
  private lastOk: number;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly check: () => Promise<unknown>,
    private readonly opts: { intervalMs?: number; timeoutMs?: number; now?: () => number } = {},
  ) {
    this.lastOk = this.now();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Probes once now. */
  async probe(): Promise<void> {
    try {
      await withTimeout(this.check(), this.opts.timeoutMs ?? PROBE_TIMEOUT_MS, this.name);
      this.lastOk = this.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message?.slice(0, 300) ?? String(err);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.probe().finally(() => (this.running = undefined));
    }, this.opts.intervalMs ?? PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  state(unreachableAfterMs = UNREACHABLE_AFTER_MS): ProbeState {
    const since = this.now() - this.lastOk;
    return {
      name: this.name,
      ok: since < unreachableAfterMs,
      sinceOkS: Math.round(since / 1000),
      ...(this.lastError && { error: this.lastError }),
    };
  }
}

/** The answer of /healthz: every probe within its window. */
export function liveness(
  probes: readonly DependencyProbe[],
  unreachableAfterMs = UNREACHABLE_AFTER_MS,
): { ok: boolean; probes: ProbeState[] } {
  const states = probes.map((p) => p.state(unreachableAfterMs));
  return { ok: states.every((s) => s.ok), probes: states };
}
