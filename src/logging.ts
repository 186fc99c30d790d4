import { pino, type DestinationStream, type Level, type Logger as Pino } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

// One structured JSON logger for the worker, the Temporal runtime (core, workflows, activities) and our own code.
// Secrets are kept out twice: known secret field names are censored, and every line is scrubbed of the actual
// secret values (tokens, API key, TLS key) just before it is written, whatever path it took to get there.

/** Secrets shorter than this are not scrubbed from lines: replacing 1-7 characters everywhere would garble logs. */
export const MIN_SCRUBBED_SECRET_LENGTH = 8;
const REDACTED = '[redacted]';

/** Field names that never reach the output, at any depth we know of. */
const REDACT_PATHS = [
  'token',
  'apiKey',
  'password',
  'authorization',
  'k3sToken',
  'slicerToken',
  'key',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.key',
  'headers.authorization',
  'headers.Authorization',
];

/**
 * klog's `--v` on pino levels: 0-2 (klog's default and "useful steady-state information") are info, 3-4 (CA's
 * "debug") are debug, 5 and above are trace. Warnings and errors are always written, as klog does.
 */
export function levelForVerbosity(v: number): Level {
  if (v >= 5) return 'trace';
  if (v >= 3) return 'debug';
  return 'info';
}

/** Replaces every registered secret value (and its JSON-escaped form) in a line. */
export class SecretScrubber {
  private readonly values = new Set<string>();

  add(...secrets: (string | undefined)[]): void {
    for (const s of secrets) {
      if (!s || s.length < MIN_SCRUBBED_SECRET_LENGTH) continue;
      this.values.add(s);
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) this.values.add(escaped);
      // PEM keys are logged, if ever, line by line; each base64 line is a secret on its own.
      for (const line of s.split('\n')) {
        const t = line.trim();
        if (t.length >= 16 && !t.startsWith('-----')) this.values.add(t);
      }
    }
  }

  scrub(line: string): string {
    let out = line;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }
}

export interface LoggerOptions {
  /** klog-style verbosity (`--v`). */
  verbosity?: number;
  scrubber?: SecretScrubber;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/** The worker's logger: JSON lines with `level` as a word, ISO time, secrets censored and scrubbed. */
export function createLogger(opts: LoggerOptions = {}): Pino {
  const scrubber = opts.scrubber ?? new SecretScrubber();
  return pino(
    {
      level: levelForVerbosity(opts.verbosity ?? 0),
      base: { component: 'slicer-autoscaler' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: (s) => scrubber.scrub(s) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

const TEMPORAL_TO_PINO: Record<LogLevel, Level> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Metadata as plain JSON: Temporal puts its timestamp under a symbol and may pass Errors and bigints. */
function plainMeta(meta: LogMetadata | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!meta) return out;
  for (const [k, v] of Object.entries(meta)) {
    if (v instanceof Error) out[k] = { name: v.name, message: v.message };
    else if (typeof v === 'bigint') out[k] = v.toString();
    else out[k] = v;
  }
  return out;
}

/**
 * The Temporal runtime's Logger over ours, for `Runtime.install({ logger })`: core, worker, workflow and activity
 * logs come out as the same JSON lines, under `component: temporal` (and Temporal's own `sdkComponent`).
 */
export function temporalLogger(log: Pino): TemporalLogger {
  const child = log.child({ component: 'temporal' });
  const write = (level: LogLevel, message: string, meta?: LogMetadata) =>
    child[TEMPORAL_TO_PINO[level] ?? 'info'](plainMeta(meta), message);
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}

/** Temporal core's own log filter for a verbosity: core is chattier than we are, so it stays one step quieter. */
export function coreLogFilter(v: number): { core: LogLevel; other: LogLevel } {
  if (v >= 5) return { core: 'DEBUG', other: 'INFO' };
  if (v >= 3) return { core: 'INFO', other: 'WARN' };
  return { core: 'WARN', other: 'ERROR' };
}

/**
 * A `(line) => void` for code that logs plain sentences; `warning: ...` lines become warnings. Keeps older call
 * sites (the cache, the planner's host-group notes) on the structured logger without changing them.
 */
export function lineLogger(log: Pino): (line: string) => void {
  return (line) => {
    if (/^warning: /i.test(line)) log.warn(line.replace(/^warning: /i, ''));
    else log.info(line);
  };
}

/**
 * One JSON log line as a short human sentence (`warn: message key=value ...`), for callers that show the worker's
 * lines to a person (the demo). Lines that are not JSON pass through unchanged.
 */
export function humanLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const { level, time: _t, pid: _p, hostname: _h, component, msg, ...rest } = o;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const prefix = `${level === 'info' ? '' : `${String(level)}: `}${component === 'temporal' ? 'temporal: ' : ''}`;
  return `${prefix}${String(msg ?? '')}${fields ? ` ${fields}` : ''}`;
}

export type { Pino as AppLogger };
