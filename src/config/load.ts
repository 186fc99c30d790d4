import { X509Certificate } from 'node:crypto';
import { FileRefusedError, readBoundedFile, utf8 } from './file.js';
import { parseIni, printableKey, IniSyntaxError, type IniSection } from './ini.js';
import { groupNameProblem, KEYS, nearestKey, type TaintSpec } from './keys.js';
import { Secret } from './secret.js';

/** The most a cloud-config file may hold; the documented examples are under 400 bytes, 100 groups about 20 KiB. */
export const CONFIG_FILE_MAX_BYTES = 64 * 1024;
/** The most a ca-bundle PEM file may hold (a full public root store is about 220 KiB). */
export const CA_BUNDLE_MAX_BYTES = 1024 * 1024;
/** Where the incumbent's Helm install mounts the cloud-config (Secret cluster-autoscaler-cloud-config, key cloud-config). */
export const DEFAULT_CLOUD_CONFIG_PATH = '/etc/slicer/cloud-config';

/** One node group: a Slicer host group with its limits and the options it overrides. */
export interface GroupConfig {
  name: string;
  slicerUrl: string;
  slicerToken: Secret;
  minSize: number;
  maxSize: number;
  priority: number;
  /** Overrides the host group's arch when set (amd64 or arm64). */
  arch?: string;
  labels: Record<string, string>;
  taints: TaintSpec[];
  provisionTimeoutMs: number;
  scaleDownUnneededTimeMs: number;
  scaleDownUtilizationThreshold: number;
  drainTimeoutMs: number;
  /** Keys whose value came from a worker flag (for `config check`). */
  fromFlags: string[];
}

/** The validated cloud-config. Tokens are Secrets: printing the config never shows them. */
export interface Config {
  clusterName: string;
  k3sUrl: string;
  k3sToken: Secret;
  caBundle?: string;
  expander: string;
  scaleDownEnabled: boolean;
  groups: GroupConfig[];
  /** Things that load but look wrong, e.g. an unexpanded $(cat ...) left in a token. */
  warnings: string[];
  /** [global] keys whose value came from a worker flag (for `config check`). */
  fromFlags: string[];
}

/**
 * cluster-autoscaler flags that set a cloud-config key (the `flag` of its KEYS entry). Precedence: a [nodegroup]
 * setting, then the flag, then [global], then the default. `FlagOptions` fits this shape.
 */
export interface ConfigOverrides {
  expander?: string;
  scaleDownEnabled?: boolean;
  scaleDownUnneededTimeMs?: number;
  maxNodeProvisionTimeMs?: number;
  scaleDownUtilizationThreshold?: number;
}

/** cloud-config key -> the override (flag) that beats its [global] value. */
const OVERRIDDEN_BY: Record<string, keyof ConfigOverrides> = {
  expander: 'expander',
  'scale-down-enabled': 'scaleDownEnabled',
  'scale-down-unneeded-time': 'scaleDownUnneededTimeMs',
  'node-provision-timeout': 'maxNodeProvisionTimeMs',
  'scale-down-utilization-threshold': 'scaleDownUtilizationThreshold',
};

/** Every problem found, each naming section, key and the fix; thrown as one error so users fix all at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid cloud-config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function sectionName(s: IniSection): string {
  return s.name === undefined ? `[${s.kind}]` : `[${s.kind} "${s.name}"]`;
}

/**
 * Parses and validates cloud-config text (`source` names the file in messages); `overrides` are the worker's
 * cluster-autoscaler flags that set the same options.
 */
export function parseConfig(text: string, source = 'cloud-config', overrides: ConfigOverrides = {}): Config {
  let sections: IniSection[];
  try {
    sections = parseIni(text);
  } catch (err) {
    if (err instanceof IniSyntaxError) throw new ConfigError(err.problems.map((p) => `${source} ${p}`));
    throw err;
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  const values = new Map<IniSection, Record<string, unknown>>();

  const globals = sections.filter((s) => s.kind === 'global');
  if (globals.length === 0) problems.push(`${source}: no [global] section; it needs k3s-url and k3s-token`);
  if (globals.length > 1)
    problems.push(
      `[global] appears ${globals.length} times (lines ${globals.map((g) => g.line).join(', ')}); merge them into one`,
    );
  const seen = new Map<string, number>();

  for (const s of sections) {
    const where = sectionName(s);
    if (s.kind !== 'global' && s.kind !== 'nodegroup') {
      // Only a name that reads like one is printed: the header could be a pasted token in brackets.
      const shown = printableKey(s.kind) ? `[${s.kind}]` : 'a section (name not shown, it may be a secret)';
      problems.push(`${shown} (line ${s.line}): unknown section; expected [global] or [nodegroup "NAME"]`);
      continue;
    }
    if (s.kind === 'global' && s.name !== undefined) {
      problems.push(`[global] (line ${s.line}): takes no name in quotes; write [global]`);
      continue;
    }
    if (s.kind === 'nodegroup') {
      if (!s.name) {
        problems.push(
          `[nodegroup] (line ${s.line}): needs the Slicer host group name, like [nodegroup "k3s-agents-1"]`,
        );
        continue;
      }
      const badName = groupNameProblem(s.name);
      if (badName) {
        // The name is not repeated: whatever it is, it is not a group name, and it might be a pasted secret.
        problems.push(`[nodegroup] (line ${s.line}): ${badName}`);
        continue;
      }
      const first = seen.get(s.name);
      if (first !== undefined)
        problems.push(
          `${where} (line ${s.line}): duplicate node group, first defined on line ${first}; give each host group one section`,
        );
      else seen.set(s.name, s.line);
    }
    const parsed: Record<string, unknown> = {};
    const allowed = Object.entries(KEYS)
      .filter(([, spec]) => spec.where === 'both' || spec.where === s.kind)
      .map(([k]) => k);
    for (const e of s.entries) {
      const spec = KEYS[e.key];
      if (!spec || !allowed.includes(e.key)) {
        const hint = nearestKey(e.key, allowed);
        const elsewhere = spec ? `; it belongs in ${spec.where === 'global' ? '[global]' : '[nodegroup "NAME"]'}` : '';
        // A key that does not read like one may be a pasted token that happens to contain '='.
        const shown = spec || printableKey(e.rawKey) ? ` ${e.key}` : '';
        const hidden = shown ? '' : ' (not shown, it may be a secret)';
        problems.push(
          `${where}${shown} (line ${e.line}): unknown key${hidden}${hint ? `; did you mean ${hint}?` : ''}${elsewhere}`,
        );
        continue;
      }
      if (e.key in parsed) problems.push(`${where} ${e.key} (line ${e.line}): set twice in this section; keep one`);
      if (e.blank && !spec.implicitTrue) {
        problems.push(`${where} ${e.key} (line ${e.line}): needs '= VALUE'`);
        continue;
      }
      const result = spec.schema.safeParse(e.blank ? 'true' : e.value);
      if (!result.success) {
        // Never echo a token value back, even a malformed one.
        problems.push(`${where} ${e.key} (line ${e.line}): ${result.error.issues[0]?.message ?? 'invalid'}`);
        continue;
      }
      if ((e.key === 'k3s-token' || e.key === 'slicer-token') && /^\$\(.*\)$/.test(e.value)) {
        warnings.push(
          `${where} ${e.key} (line ${e.line}) looks like an unexpanded shell command $(...); the heredoc that writes this file should expand it`,
        );
      }
      parsed[e.key] = result.data;
    }
    values.set(s, parsed);
  }

  const g = (globals[0] && values.get(globals[0])) ?? {};
  for (const key of ['k3s-url', 'k3s-token']) {
    if (globals.length && g[key] === undefined && !problems.some((p) => p.startsWith(`[global] ${key} `))) {
      problems.push(`[global] ${key}: missing; ${KEYS[key]!.meaning.replace(' (required)', '')}`);
    }
  }
  const defaults = {
    min: (g['default-min-size'] as number | undefined) ?? 1,
    max: (g['default-max-size'] as number | undefined) ?? 8,
  };
  /** A key's effective value in a group, and whether a flag gave it. */
  function pick<T>(group: Record<string, unknown>, key: string, fallback: T): { value: T; flag: boolean } {
    if (group[key] !== undefined) return { value: group[key] as T, flag: false };
    const override = OVERRIDDEN_BY[key] && overrides[OVERRIDDEN_BY[key]];
    if (override !== undefined) return { value: override as T, flag: true };
    return { value: (g[key] ?? fallback) as T, flag: false };
  }

  const groups: GroupConfig[] = [];
  for (const s of sections.filter((x) => x.kind === 'nodegroup' && x.name)) {
    const v = values.get(s);
    if (!v) continue;
    const where = sectionName(s);
    for (const key of ['slicer-url', 'slicer-token']) {
      if (v[key] === undefined && !problems.some((p) => p.startsWith(`${where} ${key} `))) {
        problems.push(`${where} ${key}: missing; ${KEYS[key]!.meaning.replace(' (required)', '')}`);
      }
    }
    const minSize = (v['min-size'] as number | undefined) ?? defaults.min;
    const maxSize = (v['max-size'] as number | undefined) ?? defaults.max;
    if (minSize > maxSize) {
      const from = (k: string, d: string) => (v[k] !== undefined ? k : `${d} from [global]`);
      problems.push(
        `${where}: min-size ${minSize} (${from('min-size', 'default-min-size')}) is greater than max-size ${maxSize} (${from('max-size', 'default-max-size')}); lower min-size or raise max-size`,
      );
    }
    if (maxSize === 0)
      problems.push(
        `${where} max-size: is 0, so this group could never get a node; remove the section or raise max-size`,
      );
    const fromFlags: string[] = [];
    const inherit = <T>(key: string, fallback: T): T => {
      const { value, flag } = pick(v, key, fallback);
      if (flag) fromFlags.push(key);
      return value;
    };
    groups.push({
      name: s.name!,
      slicerUrl: ((v['slicer-url'] as string | undefined) ?? '').replace(/\/+$/, ''),
      slicerToken: (v['slicer-token'] as Secret | undefined) ?? new Secret(''),
      minSize,
      maxSize,
      priority: (v['priority'] as number | undefined) ?? 0,
      arch: inherit<string | undefined>('arch', undefined),
      labels: {
        ...((g['node-labels'] as Record<string, string>) ?? {}),
        ...((v['node-labels'] as Record<string, string>) ?? {}),
      },
      taints: [...((g['node-taints'] as TaintSpec[]) ?? []), ...((v['node-taints'] as TaintSpec[]) ?? [])],
      provisionTimeoutMs: inherit('node-provision-timeout', 5 * 60_000),
      scaleDownUnneededTimeMs: inherit('scale-down-unneeded-time', 10 * 60_000),
      scaleDownUtilizationThreshold: inherit('scale-down-utilization-threshold', 0.5),
      drainTimeoutMs: inherit('drain-timeout', 10 * 60_000),
      fromFlags,
    });
  }
  if (globals.length && groups.length === 0 && !problems.some((p) => p.startsWith('[nodegroup'))) {
    problems.push(
      `${source}: no [nodegroup "NAME"] section; add one per Slicer host group with slicer-url and slicer-token`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  const globalFromFlags = ['expander', 'scale-down-enabled'].filter((k) => overrides[OVERRIDDEN_BY[k]!] !== undefined);
  return {
    clusterName: (g['cluster-name'] as string | undefined) ?? 'default',
    k3sUrl: g['k3s-url'] as string,
    k3sToken: g['k3s-token'] as Secret,
    caBundle: g['ca-bundle'] as string | undefined,
    expander: overrides.expander ?? (g['expander'] as string | undefined) ?? 'least-waste',
    scaleDownEnabled: overrides.scaleDownEnabled ?? (g['scale-down-enabled'] as boolean | undefined) ?? true,
    groups,
    warnings,
    fromFlags: globalFromFlags,
  };
}

/** Why a ca-bundle file cannot be used, or undefined: it must hold PEM certificates that parse. */
export function caBundleProblem(path: string): string | undefined {
  let text: string | undefined;
  try {
    text = utf8(readBoundedFile(path, CA_BUNDLE_MAX_BYTES, 'ca-bundle'));
  } catch (err) {
    if (err instanceof FileRefusedError) return err.message;
    throw err;
  }
  const blocks = text?.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  for (const [i, pem] of blocks.entries()) {
    try {
      new X509Certificate(pem);
    } catch {
      return `${path}: certificate ${i + 1} of ${blocks.length} does not parse; check the PEM file`;
    }
  }
  return undefined;
}

/**
 * Reads and validates a cloud-config file: a regular file (or a symlink to one) of at most
 * CONFIG_FILE_MAX_BYTES of UTF-8, whose ca-bundle (if any) holds PEM certificates.
 */
export function loadConfig(path: string, overrides: ConfigOverrides = {}): Config {
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(path, CONFIG_FILE_MAX_BYTES, 'cloud-config');
  } catch (err) {
    if (err instanceof FileRefusedError) throw new ConfigError([err.message]);
    throw err;
  }
  const text = utf8(bytes);
  if (text === undefined) throw new ConfigError([`${path}: not UTF-8 text; save the cloud-config as UTF-8`]);
  const config = parseConfig(text, path, overrides);
  if (config.caBundle) {
    const problem = caBundleProblem(config.caBundle);
    if (problem) {
      const line = parseIni(text)
        .find((s) => s.kind === 'global')
        ?.entries.find((e) => e.key === 'ca-bundle')?.line;
      throw new ConfigError([`[global] ca-bundle (line ${line}): ${problem}`]);
    }
  }
  return config;
}
