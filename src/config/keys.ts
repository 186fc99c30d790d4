import { z } from 'zod';
import { parseDuration } from './duration.js';
import { Secret } from './secret.js';

// Every key the cloud-config accepts, with its zod schema, default and where it may appear. One table, so the
// loader, `config check`, the README and the unknown-key suggestions all agree.

const durationMs = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not a duration; write it like 90s, 5m or 1h30m` });
    return z.NEVER;
  }
  return ms;
});

// gcfg reads integers as decimal or 0x hexadecimal (never octal), so the incumbent accepts both.
const size = z
  .string()
  .regex(/^-?(\d+|0[xX][0-9a-fA-F]+)$/, 'expected a whole number')
  .transform(Number)
  .pipe(z.number().int().nonnegative('must be 0 or more (0 allows scale from zero)'));

const URL_SHAPE = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*)(:\d*)?(\/[A-Za-z0-9._~\-/]*)?$/;
const URL_EXAMPLE = 'write only scheme, host, port and path, like http://192.168.138.1:8081';

/**
 * What is wrong with a URL value, or undefined. The shape is what the k3s join script and the Slicer client can
 * use as is, so nothing is left to fail at the first scale-up. Messages never repeat the value: it may carry a
 * password.
 */
export function urlProblem(text: string, credentialKey: string): string | undefined {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*@/.test(text))
    return `has a user name or password before @; remove it (${credentialKey} carries the credential)`;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text))
    return 'expected a URL with its scheme, like https://192.168.137.2:6443';
  if (!/^https?:\/\//.test(text)) return 'must start with http:// or https://';
  if (/[?#]/.test(text)) return `has a query or fragment; ${URL_EXAMPLE}`;
  if (!URL_SHAPE.test(text)) return `has text after the address; ${URL_EXAMPLE}`;
  try {
    if (!new URL(text).hostname) return 'is not a valid URL (bad host or port)';
  } catch {
    return 'is not a valid URL (bad host or port)';
  }
  return undefined;
}

const url = (credentialKey: string) =>
  z.string().superRefine((v, ctx) => {
    const problem = urlProblem(v, credentialKey);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const fraction = z
  .string()
  .regex(/^\d*\.?\d+$/, 'expected a number between 0 and 1, like 0.5')
  .transform(Number)
  .pipe(z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'));

// gcfg's booleans: true/yes/on/1 and false/no/off/0, any case; a bare key (no `= value`) reads as true.
const bool = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['true', 'yes', 'on', '1', 'false', 'no', 'off', '0'], 'expected true or false'))
  .transform((v) => ['true', 'yes', 'on', '1'].includes(v));

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Kubernetes label syntax; also what keeps a label safe to put on the k3s agent's command line. */
export function isLabelKey(key: string): boolean {
  return key.length <= 316 && LABEL_KEY.test(key);
}
export function isLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}

/** Why a node group name cannot be used, or undefined: it becomes the node label slicer/hostgroup. */
export function groupNameProblem(name: string): string | undefined {
  return name && isLabelValue(name)
    ? undefined
    : "the name becomes the node label slicer/hostgroup, so it must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
}

const labels = z.string().transform((text, ctx) => {
  const out: Record<string, string> = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v = '', ...rest] = item.split('=');
    if (!k || rest.length > 0 || !isLabelKey(k) || !isLabelValue(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `'${item}' is not a label; write key=value pairs separated by commas, like tier=batch,disk=ssd`,
      });
      return z.NEVER;
    }
    out[k] = v;
  }
  return out;
});

export interface TaintSpec {
  key: string;
  value: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

const taints = z.string().transform((text, ctx) => {
  const out: TaintSpec[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(item);
    if (!m || !isLabelKey(m[1]!) || !isLabelValue(m[2] ?? '')) {
      ctx.addIssue({
        code: 'custom',
        message: `'${item}' is not a taint; write key=value:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute`,
      });
      return z.NEVER;
    }
    out.push({ key: m[1]!, value: m[2] ?? '', effect: m[3] as TaintSpec['effect'] });
  }
  return out;
});

export const EXPANDERS = ['random', 'most-pods', 'least-waste', 'priority'] as const;
const expander = z
  .string()
  .refine(
    (v) => v.split(',').every((e) => (EXPANDERS as readonly string[]).includes(e.trim())),
    `expected one of ${EXPANDERS.join(', ')}, or a chain like priority,least-waste`,
  );

/** x86_64 and amd64 are the same machine; Kubernetes says amd64/arm64. */
export function normaliseArch(arch: string): string {
  const a = arch.trim().toLowerCase();
  if (a === 'x86_64' || a === 'x86-64' || a === 'amd64') return 'amd64';
  if (a === 'aarch64' || a === 'arm64') return 'arm64';
  return a;
}
const arch = z
  .string()
  .transform(normaliseArch)
  .refine((a) => a === 'amd64' || a === 'arm64', 'expected amd64 or arm64 (x86_64 and aarch64 are accepted too)');

const clusterName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected lowercase letters, digits and dashes, like home-lab');
const priority = z
  .string()
  .regex(/^-?\d+$/, 'expected a whole number')
  .transform(Number);
const token = z
  .string()
  .min(1, 'is empty; paste the token, or use $(cat FILE) in the heredoc that writes this file')
  .transform((v) => new Secret(v));
const path = z.string().min(1);

export type Where = 'global' | 'nodegroup' | 'both';

export interface KeySpec {
  schema: z.ZodType<unknown, string>;
  where: Where;
  /** As printed in the README table; undefined = required or no default. */
  default?: string;
  meaning: string;
  /** The cluster-autoscaler flag with the same meaning, if any. */
  flag?: string;
  /** gcfg's implicit value: the key alone on its line means true. */
  implicitTrue?: boolean;
}

/** The cloud-config keys. `both` keys in [global] are defaults that a [nodegroup] may override. */
export const KEYS: Record<string, KeySpec> = {
  'k3s-url': {
    schema: url('k3s-token'),
    where: 'global',
    meaning: 'URL of the k3s server that new agents join (required)',
  },
  'k3s-token': {
    schema: token,
    where: 'global',
    meaning: 'k3s join token; given to VMs as the Slicer secret k3s-token, never in userdata (required)',
  },
  'ca-bundle': { schema: path, where: 'global', meaning: 'PEM file of extra CAs trusted for every Slicer API call' },
  'default-min-size': {
    schema: size,
    where: 'global',
    default: '1',
    meaning: 'min-size of groups that do not set one; 0 allows scale from zero',
  },
  'default-max-size': {
    schema: size,
    where: 'global',
    default: '8',
    meaning: 'max-size of groups that do not set one',
  },
  'cluster-name': {
    schema: clusterName,
    where: 'global',
    default: 'default',
    meaning: 'names the evaluator workflow autoscaler/<cluster-name> and tags our VMs',
  },
  expander: {
    schema: expander,
    where: 'global',
    default: 'least-waste',
    meaning: 'how to choose among groups that fit',
    flag: '--expander',
  },
  'scale-down-enabled': {
    schema: bool,
    where: 'global',
    default: 'true',
    meaning: 'remove unneeded nodes at all',
    flag: '--scale-down-enabled',
    implicitTrue: true,
  },
  'slicer-url': {
    schema: url('slicer-token'),
    where: 'nodegroup',
    meaning: 'base URL of the Slicer API for this host group (required)',
  },
  'slicer-token': { schema: token, where: 'nodegroup', meaning: 'bearer token of that Slicer API (required)' },
  'min-size': { schema: size, where: 'nodegroup', meaning: 'fewest nodes the group keeps (default: default-min-size)' },
  'max-size': {
    schema: size,
    where: 'nodegroup',
    meaning: 'most nodes the group may have (default: default-max-size)',
  },
  priority: {
    schema: priority,
    where: 'nodegroup',
    default: '0',
    meaning: 'higher is preferred by the priority expander',
  },
  arch: {
    schema: arch,
    where: 'both',
    meaning: "overrides the host group's arch for the template and the kubernetes.io/arch label",
  },
  'node-labels': {
    schema: labels,
    where: 'both',
    default: '',
    meaning: 'extra labels new nodes join with, k=v,k2=v2 (group entries add to global ones)',
  },
  'node-taints': {
    schema: taints,
    where: 'both',
    default: '',
    meaning: 'taints new nodes join with, key=value:Effect,...',
  },
  'node-provision-timeout': {
    schema: durationMs,
    where: 'both',
    default: '5m',
    meaning: 'from VM create to a Ready Node, else the VM is deleted',
    flag: '--max-node-provision-time',
  },
  'scale-down-unneeded-time': {
    schema: durationMs,
    where: 'both',
    default: '10m',
    meaning: 'how long a node must be unneeded before removal',
    flag: '--scale-down-unneeded-time',
  },
  'scale-down-utilization-threshold': {
    schema: fraction,
    where: 'both',
    default: '0.5',
    meaning: 'requested/allocatable cpu and memory below which a node is unneeded',
    flag: '--scale-down-utilization-threshold',
  },
  'drain-timeout': {
    schema: durationMs,
    where: 'both',
    default: '10m',
    meaning: 'how long a drain may take before the node is put back in service',
  },
};

/** The closest known key, for "did you mean" in unknown-key errors. */
export function nearestKey(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(key, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
