import { z } from 'zod';
import { CA_FLAGS, goBool } from './ca-flags.js';
import { parseDuration } from './duration.js';
import { EXPANDERS, nearestKey } from './keys.js';

// cluster-autoscaler flag names for the options we support, so existing deployment args carry over. Precedence:
// a flag beats the same setting in [global]; a [nodegroup] setting still wins for its own group (more specific).
// Flags cluster-autoscaler has and we do not implement are judged in ca-flags.ts.

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
  z.string().transform((text, ctx) => {
    const b = goBool(text);
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected true or false` });
      return z.NEVER;
    }
    return b;
  });
const int = (flag: string, what = 'a whole number') =>
  z
    .string()
    .regex(/^-?\d+$/, `${flag}: expected ${what}`)
    .transform(Number);
const namespace = (flag: string) =>
  z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, `${flag}: expected a Kubernetes namespace name, like kube-system`);

/** Flag -> [option name, schema, default, written bare means true]. */
export const FLAGS = {
  '--cloud-provider': [
    'cloudProvider',
    z.string().superRefine((v, ctx) => {
      if (v !== 'slicer')
        ctx.addIssue({
          code: 'custom',
          message: `--cloud-provider=${v}: slicer-autoscaler only drives Slicer; set --cloud-provider=slicer or leave it out`,
        });
    }),
    'slicer',
  ],
  '--cloud-config': ['cloudConfig', z.string(), undefined],
  '--kubeconfig': ['kubeconfig', z.string(), undefined],
  '--namespace': ['namespace', namespace('--namespace'), 'kube-system'],
  '--status-namespace': ['statusNamespace', namespace('--status-namespace'), undefined],
  '--health-port': [
    'healthPort',
    int('--health-port', 'a port number from 0 to 65535').pipe(
      z
        .number()
        .min(0, '--health-port: expected a port number from 0 to 65535')
        .max(65535, '--health-port: expected a port number from 0 to 65535'),
    ),
    8080,
  ],
  '--v': [
    'verbosity',
    int('--v', 'a whole number 0 or more').pipe(z.number().min(0, '--v: expected a whole number 0 or more')),
    0,
  ],
  '--scan-interval': ['scanIntervalMs', duration('--scan-interval'), 30_000],
  // Ours: how often the evaluator sweeps for orphaned VMs, stale Nodes and stale removal taints.
  '--orphan-sweep-interval': ['orphanSweepIntervalMs', duration('--orphan-sweep-interval'), 5 * 60_000],
  '--scale-down-enabled': ['scaleDownEnabled', bool('--scale-down-enabled'), undefined, true],
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
    z
      .string()
      .regex(/^\d*\.?\d+$/, '--scale-down-utilization-threshold: expected a number from 0 to 1')
      .transform(Number)
      .pipe(z.number().max(1, '--scale-down-utilization-threshold: expected a number from 0 to 1')),
    undefined,
  ],
  '--max-scale-down-parallelism': [
    'maxScaleDownParallelism',
    int('--max-scale-down-parallelism').pipe(z.number().min(1, '--max-scale-down-parallelism: must be 1 or more')),
    10,
  ],
  '--max-drain-parallelism': [
    'maxDrainParallelism',
    int('--max-drain-parallelism').pipe(z.number().min(1, '--max-drain-parallelism: must be 1 or more')),
    undefined,
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
  '--max-nodes-total': [
    'maxNodesTotal',
    int('--max-nodes-total').pipe(z.number().min(0, '--max-nodes-total: must be 0 (no limit) or more')),
    0,
  ],
  '--balance-similar-node-groups': ['balanceSimilarNodeGroups', bool('--balance-similar-node-groups'), false, true],
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
  // Ours, not cluster-autoscaler's: how long the scheduler's Unschedulable beats the planner's "fits" (0s = never).
  '--trust-scheduler-after': ['trustSchedulerAfterMs', duration('--trust-scheduler-after'), 30_000],
} as const satisfies Record<string, readonly [string, z.ZodType<unknown, string>, unknown, true?]>;

/** Parsed flags with defaults filled in; options the cloud-config also sets stay undefined when not given. */
export interface FlagOptions {
  /** Always `slicer`: another provider is refused. */
  cloudProvider: string;
  /** Unset: the worker reads DEFAULT_CLOUD_CONFIG_PATH, the incumbent's mount. */
  cloudConfig?: string;
  kubeconfig?: string;
  /** cluster-autoscaler's --namespace: where it runs and writes its status ConfigMap. */
  namespace: string;
  /** Namespace of the status ConfigMap: --status-namespace, else --namespace. */
  statusNamespace: string;
  healthPort: number;
  /** klog's --v: 0 is the default, 4 what the Slicer guide sets; the logger maps it onto its levels. */
  verbosity: number;
  scanIntervalMs: number;
  orphanSweepIntervalMs: number;
  scaleDownEnabled?: boolean;
  scaleDownUnneededTimeMs?: number;
  scaleDownUnreadyTimeMs: number;
  scaleDownDelayAfterAddMs: number;
  scaleDownDelayAfterDeleteMs: number;
  scaleDownDelayAfterFailureMs: number;
  scaleDownUtilizationThreshold?: number;
  /** The bound on nodes removed at once; --max-drain-parallelism lowers it (we have one limit for both). */
  maxScaleDownParallelism: number;
  maxDrainParallelism?: number;
  expendablePodsPriorityCutoff: number;
  expander?: string;
  maxNodeProvisionTimeMs?: number;
  maxNodesTotal: number;
  balanceSimilarNodeGroups: boolean;
  newPodScaleUpDelayMs: number;
  /** Backoff of a group after a failed scale-up, doubling up to the max. */
  initialNodeGroupBackoffMs: number;
  maxNodeGroupBackoffMs: number;
  trustSchedulerAfterMs: number;
}

export class FlagError extends Error {}

type FlagSpec = readonly [string, z.ZodType<unknown, string>, unknown, true?];
const SPECS: Record<string, FlagSpec> = FLAGS;

/** A literal that a bare boolean flag takes as its value when it follows as the next argument. */
const isBoolLiteral = (s: string | undefined) => s !== undefined && goBool(s) !== undefined;

/**
 * Parses the worker's flags as cluster-autoscaler (pflag) does: `--flag=value`, `--flag value`, boolean flags
 * written bare, `-v N`, and `_` in names read as `-` (klog's `--log_dir`). A cluster-autoscaler flag we do not
 * implement is accepted with one warning naming it, or refused when ignoring it is unsafe (ca-flags.ts). Other
 * arguments come back as positionals; a flag nobody knows is refused.
 */
export function parseFlags(
  argv: string[],
  allowOther: string[] = [],
): { options: FlagOptions; positionals: string[]; other: Record<string, string>; warnings: string[] } {
  const raw: Record<string, string> = {};
  const other: Record<string, string> = {};
  const ignored = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const single = /^-v(?:=(.*))?$/.exec(arg);
    if (!arg.startsWith('--') && !single) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = single ? '--v' : (eq > 0 ? arg.slice(0, eq) : arg).replace(/_/g, '-');
    const ca = CA_FLAGS[name.slice(2)];
    if (!(name in SPECS) && !ca && !allowOther.includes(name)) {
      const hint = nearestKey(name, [...Object.keys(SPECS), ...allowOther]);
      throw new FlagError(`unknown flag ${name}${hint ? `; did you mean ${hint}?` : ''}`);
    }
    const isBool = SPECS[name]?.[3] === true || ca?.bool === true;
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (isBool) {
      // pflag takes a bare boolean as true; a true/false right after it is its value, not a positional.
      value = isBoolLiteral(argv[i + 1]) ? argv[++i]! : 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new FlagError(`${name} needs a value, like ${name}=VALUE`);
      value = next;
      i++;
    }
    if (name in SPECS) raw[name] = value;
    else if (ca) ignored.set(name, value);
    else other[name] = value;
  }

  const options: Record<string, unknown> = {};
  for (const [flag, [option, schema, fallback]] of Object.entries(SPECS)) {
    const text = raw[flag];
    if (text === undefined) {
      options[option] = fallback;
      continue;
    }
    if (text === '') throw new FlagError(`${flag} is empty; give it a value`);
    const result = schema.safeParse(text);
    if (!result.success) throw new FlagError(result.error.issues[0]?.message ?? `${flag}: invalid`);
    options[option] = result.data;
  }
  const parsed = options as unknown as FlagOptions;
  parsed.statusNamespace ??= parsed.namespace;
  if (parsed.maxDrainParallelism !== undefined)
    parsed.maxScaleDownParallelism = Math.min(parsed.maxScaleDownParallelism, parsed.maxDrainParallelism);

  const warnings: string[] = [];
  for (const [name, value] of ignored) {
    const verdict = CA_FLAGS[name.slice(2)]!.judge(value);
    if (verdict.kind === 'invalid') throw new FlagError(`${name}: ${verdict.message}`);
    if (verdict.kind === 'refuse') throw new FlagError(`${name}=${value} is refused: ${verdict.why}`);
    if (verdict.kind === 'warn') warnings.push(`${name}=${value} is accepted but not implemented: ${verdict.why}`);
  }
  return { options: parsed, positionals, other, warnings };
}
