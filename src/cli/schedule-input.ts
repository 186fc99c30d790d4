import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../config/duration.js';
import type { ScheduledAction } from '../workflows/scheduled-action.js';

// `schedule add` arguments checked before anything reaches Temporal: the cron expression field by field, the
// durations, and the action. Every error names the flag and says what would be accepted.

/** A window longer than a week is a configuration, not a window (and the evaluator caps pauses at 7 days). */
export const MAX_WINDOW_MS = 7 * 24 * 3600_000;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, base: 1 },
  { name: 'day-of-week', min: 0, max: 6, names: DAYS, base: 0 },
] as const;
const SHORTHANDS = ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'];

/**
 * Checks a 5-field cron expression (minute hour day-of-month month day-of-week; `*`, lists, ranges, steps, and
 * JAN-DEC / SUN-SAT names) or a shorthand like `@daily`. Returns the problem, or undefined when it is valid.
 */
export function cronProblem(expr: string): string | undefined {
  const text = expr.trim();
  if (SHORTHANDS.includes(text)) return undefined;
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    return `expected 5 fields (minute hour day-of-month month day-of-week), like "0 20 * * 1-5", or one of ${SHORTHANDS.join(', ')}; got ${parts.length} field(s)`;
  for (const [i, part] of parts.entries()) {
    const f = FIELDS[i]!;
    const value = (v: string): number | undefined => {
      if (/^\d+$/.test(v)) return Number(v);
      const idx = 'names' in f ? (f.names as readonly string[]).indexOf(v.toUpperCase()) : -1;
      return idx >= 0 ? idx + ('base' in f ? f.base : 0) : undefined;
    };
    for (const item of part.split(',')) {
      const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
      if (!m) return `${f.name} field '${part}': '${item}' is not a value, a range a-b, * or a step like */5`;
      if (m[2] !== undefined && Number(m[2]) < 1) return `${f.name} field '${part}': a step must be at least 1`;
      if (m[1] === '*') continue;
      const [from, to] = m[1]!.split('-') as [string, string | undefined];
      for (const v of [from, to]) {
        if (v === undefined) continue;
        const n = value(v);
        if (n === undefined || n < f.min || n > f.max)
          return `${f.name} field '${part}': '${v}' is out of range ${f.min}-${f.max}${'names' in f ? ` (or ${f.names[0]}-${f.names[f.names.length - 1]})` : ''}`;
      }
      if (to !== undefined && value(from)! > value(to)!)
        return `${f.name} field '${part}': range ${from}-${to} runs backwards`;
    }
  }
  return undefined;
}

/** A window duration: `12h`, `90m`; positive and at most 7 days. */
function windowMs(flag: string) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < 1000) {
      ctx.addIssue({ code: 'custom', message: `${flag} ${text}: expected a duration of at least 1s, like 12h or 90m` });
      return z.NEVER;
    }
    if (ms > MAX_WINDOW_MS) {
      ctx.addIssue({ code: 'custom', message: `${flag} ${text}: at most 168h (7 days)` });
      return z.NEVER;
    }
    return ms;
  });
}

const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The flags of `schedule add`, as parseArgs hands them over. */
export const ScheduleAddSchema = z
  .object({
    cron: z.string({ error: '--cron is required, like --cron "0 20 * * 1-5"' }).superRefine((c, ctx) => {
      const problem = cronProblem(c);
      if (problem) ctx.addIssue({ code: 'custom', message: `--cron "${c}": ${problem}` });
    }),
    pause: windowMs('--pause').optional(),
    scale: z
      .string()
      .regex(/^[^=\s]+=\d+$/, '--scale: expected GROUP=SIZE, like --scale k3s-agents-1=0')
      .transform((s) => {
        const [group, size] = s.split('=') as [string, string];
        return { group, size: Number(size) };
      })
      .refine((s) => GROUP.test(s.group), '--scale: the group name has characters a node group cannot have')
      .optional(),
    for: windowMs('--for').optional(),
    group: z.string().regex(GROUP, '--group: not a node group name').optional(),
    timezone: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, '--timezone: not an IANA time zone, like Europe/London or UTC')
      .default('UTC'),
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, '--id: lower-case letters, digits and dashes, up to 63')
      .optional(),
    reason: z.string().min(1).max(400).optional(),
  })
  .superRefine((v, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
    if ((v.pause === undefined) === (v.scale === undefined))
      issue('say what the schedule does: --pause DURATION [--group G], or --scale GROUP=SIZE --for DURATION');
    if (v.scale && v.for === undefined) issue('--scale needs --for DURATION: how long the group stays at that size');
    if (v.scale && v.group) issue('--group goes with --pause; with --scale the group is in GROUP=SIZE');
    if (v.pause !== undefined && v.for !== undefined) issue('--for goes with --scale; --pause takes its own duration');
  });
export type ScheduleAddArgs = z.input<typeof ScheduleAddSchema>;

/** A validated `schedule add`: its ID, what it does, and the action input its workflow gets. */
export interface ScheduleRequest {
  scheduleId: string;
  cron: string;
  timezone: string;
  description: string;
  action: ScheduledAction;
}

/** Schedules of one cluster share this ID prefix, so `schedule list` can find them. */
export function schedulePrefix(cluster: string): string {
  return `slicer-autoscaler/${cluster}/`;
}

/** Turns validated flags into the schedule to create; throws the first problem as a plain message. */
export function scheduleRequest(cluster: string, raw: Partial<Record<keyof ScheduleAddArgs, string>>): ScheduleRequest {
  const parsed = ScheduleAddSchema.safeParse(raw);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  const v = parsed.data;
  const hash = createHash('sha256').update(`${v.cron}|${v.timezone}`).digest('hex').slice(0, 6);
  const defaultName = v.scale
    ? `scale-${v.scale.group}-to-${v.scale.size}-${hash}`
    : `pause-${v.group ?? 'all'}-${hash}`;
  const scheduleId = `${schedulePrefix(cluster)}${v.id ?? defaultName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
  const when = `at "${v.cron}" (${v.timezone})`;
  if (v.scale) {
    const description = `${when}: ${v.scale.group} to ${v.scale.size} for ${formatDuration(v.for!)}`;
    return {
      scheduleId,
      cron: v.cron,
      timezone: v.timezone,
      description,
      action: {
        kind: 'scale',
        cluster,
        group: v.scale.group,
        size: v.scale.size,
        forSeconds: Math.round(v.for! / 1000),
        reason: v.reason ?? `scheduled: ${description}`,
        source: scheduleId,
      },
    };
  }
  const description = `${when}: pause ${v.group ?? 'the autoscaler'} for ${formatDuration(v.pause!)}`;
  return {
    scheduleId,
    cron: v.cron,
    timezone: v.timezone,
    description,
    action: {
      kind: 'pause',
      cluster,
      group: v.group,
      forSeconds: Math.round(v.pause! / 1000),
      reason: v.reason ?? `scheduled: ${description}`,
      source: scheduleId,
    },
  };
}
