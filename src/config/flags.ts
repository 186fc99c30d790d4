import { z } from 'zod';
import { parseDuration } from './duration.js';
import { EXPANDERS } from './keys.js';

// cluster-autoscaler flag names for the options we support, so existing deployment args carry over. Precedence:
// a flag beats the same setting in [global]; a [nodegroup] setting still wins for its own group (more specific).

const duration = (flag: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `${flag}: '${text}' is not a duration; write it like 90s, 10m or 1h` });
      return z.NEVER;
    }
    return ms;
  });
const bool = (flag: string) =>
  z.enum(['true', 'false'], `${flag}: expected true or false`).transform((v) => v === 'true');
const int = (flag: string) =>
  z
    .string()
    .regex(/^-?\d+$/, `${flag}: expected a whole number`)
    .transform(Number);

/** Flag -> [option name, schema, default]. */
export const FLAGS = {
  '--cloud-config': ['cloudConfig', z.string().min(1), undefined],
  '--scan-interval': ['scanIntervalMs', duration('--scan-interval'), 30_000],
  '--scale-down-enabled': ['scaleDownEnabled', bool('--scale-down-enabled'), undefined],
  '--scale-down-unneeded-time': ['scaleDownUnneededTimeMs', duration('--scale-down-unneeded-time'), undefined],
  '--scale-down-unready-time': ['scaleDownUnreadyTimeMs', duration('--scale-down-unready-time'), 20 * 60_000],
  '--scale-down-delay-after-add': ['scaleDownDelayAfterAddMs', duration('--scale-down-delay-after-add'), 10 * 60_000],
  '--scale-down-delay-after-delete': ['scaleDownDelayAfterDeleteMs', duration('--scale-down-delay-after-delete'), 0],
  '--scale-down-delay-after-failure': [
    'scaleDownDelayAfterFailureMs',
    duration('--scale-down-delay-after-failure'),
    3 * 60_000,
  ],
  '--scale-down-utilization-threshold': [
    'scaleDownUtilizationThreshold',
    z.string().transform(Number).pipe(z.number('--scale-down-utilization-threshold: expected a number').min(0).max(1)),
    undefined,
  ],
  '--max-scale-down-parallelism': [
    'maxScaleDownParallelism',
    int('--max-scale-down-parallelism').pipe(z.number().min(1)),
    10,
  ],
  '--expendable-pods-priority-cutoff': ['expendablePodsPriorityCutoff', int('--expendable-pods-priority-cutoff'), -10],
  '--expander': [
    'expander',
    z
      .string()
      .refine(
        (v) => v.split(',').every((e) => (EXPANDERS as readonly string[]).includes(e)),
        `--expander: expected ${EXPANDERS.join(', ')} or a chain like priority,least-waste`,
      ),
    undefined,
  ],
  '--max-node-provision-time': ['maxNodeProvisionTimeMs', duration('--max-node-provision-time'), undefined],
  '--max-nodes-total': ['maxNodesTotal', int('--max-nodes-total').pipe(z.number().min(0)), 0],
  '--balance-similar-node-groups': ['balanceSimilarNodeGroups', bool('--balance-similar-node-groups'), false],
  '--new-pod-scale-up-delay': ['newPodScaleUpDelayMs', duration('--new-pod-scale-up-delay'), 0],
  '--initial-node-group-backoff-duration': [
    'initialNodeGroupBackoffMs',
    duration('--initial-node-group-backoff-duration'),
    5 * 60_000,
  ],
  '--max-node-group-backoff-duration': [
    'maxNodeGroupBackoffMs',
    duration('--max-node-group-backoff-duration'),
    30 * 60_000,
  ],
} as const satisfies Record<string, readonly [string, z.ZodType<unknown, string>, unknown]>;

/** Parsed flags with defaults filled in; options the cloud-config also sets stay undefined when not given. */
export interface FlagOptions {
  cloudConfig?: string;
  scanIntervalMs: number;
  scaleDownEnabled?: boolean;
  scaleDownUnneededTimeMs?: number;
  scaleDownUnreadyTimeMs: number;
  scaleDownDelayAfterAddMs: number;
  scaleDownDelayAfterDeleteMs: number;
  scaleDownDelayAfterFailureMs: number;
  scaleDownUtilizationThreshold?: number;
  maxScaleDownParallelism: number;
  expendablePodsPriorityCutoff: number;
  expander?: string;
  maxNodeProvisionTimeMs?: number;
  maxNodesTotal: number;
  balanceSimilarNodeGroups: boolean;
  newPodScaleUpDelayMs: number;
  /** Backoff of a group after a failed scale-up, doubling up to the max. */
  initialNodeGroupBackoffMs: number;
  maxNodeGroupBackoffMs: number;
}

export class FlagError extends Error {}

/** Parses `--flag=value` and `--flag value`; other arguments come back as positionals. Unknown flags are refused. */
export function parseFlags(
  argv: string[],
  allowOther: string[] = [],
): { options: FlagOptions; positionals: string[]; other: Record<string, string> } {
  const raw: Record<string, string> = {};
  const other: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[i + 1];
    if (!(name in FLAGS) && !allowOther.includes(name)) {
      const known = [...Object.keys(FLAGS), ...allowOther];
      const hint = known.find((k) => k.startsWith(name) || name.startsWith(k));
      throw new FlagError(`unknown flag ${name}${hint ? `; did you mean ${hint}?` : ''}`);
    }
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new FlagError(`${name} needs a value, like ${name}=VALUE`);
    if (eq < 0) i++;
    if (name in FLAGS) raw[name] = value;
    else other[name] = value;
  }
  const options: Record<string, unknown> = {};
  for (const [flag, [option, schema, fallback]] of Object.entries(FLAGS)) {
    if (raw[flag] === undefined) {
      options[option] = fallback;
      continue;
    }
    const result = (schema as z.ZodType<unknown, string>).safeParse(raw[flag]);
    if (!result.success) throw new FlagError(result.error.issues[0]?.message ?? `${flag}: invalid`);
    options[option] = result.data;
  }
  return { options: options as unknown as FlagOptions, positionals, other };
}
