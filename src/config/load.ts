import { readFileSync } from 'node:fs';
import { parseIni, IniSyntaxError, type IniSection } from './ini.js';
import { KEYS, nearestKey, type TaintSpec } from './keys.js';
import { Secret } from './secret.js';

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
}

/** Every problem found, each naming section, key and the fix; thrown as one error so users fix all at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid cloud-config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function sectionName(s: IniSection): string {
  return s.name === undefined ? `[${s.kind}]` : `[${s.kind} "${s.name}"]`;
}

/** Parses and validates cloud-config text (`source` names the file in messages). */
export function parseConfig(text: string, source = 'cloud-config'): Config {
  let sections: IniSection[];
  try {
    sections = parseIni(text);
  } catch (err) {
    if (err instanceof IniSyntaxError) throw new ConfigError([`${source} ${err.message}`]);
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
      problems.push(`${where} (line ${s.line}): unknown section; expected [global] or [nodegroup "NAME"]`);
      continue;
    }
    if (s.kind === 'nodegroup') {
      if (!s.name) {
        problems.push(
          `[nodegroup] (line ${s.line}): needs the Slicer host group name, like [nodegroup "k3s-agents-1"]`,
        );
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
        problems.push(
          `${where} ${e.key} (line ${e.line}): unknown key${hint ? `; did you mean ${hint}?` : ''}${elsewhere}`,
        );
        continue;
      }
      if (e.key in parsed) problems.push(`${where} ${e.key} (line ${e.line}): set twice in this section; keep one`);
      const result = spec.schema.safeParse(e.value);
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
  const inherit = <T>(group: Record<string, unknown>, key: string, fallback: T): T =>
    (group[key] ?? g[key] ?? fallback) as T;

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
    groups.push({
      name: s.name!,
      slicerUrl: ((v['slicer-url'] as string | undefined) ?? '').replace(/\/+$/, ''),
      slicerToken: (v['slicer-token'] as Secret | undefined) ?? new Secret(''),
      minSize,
      maxSize,
      priority: (v['priority'] as number | undefined) ?? 0,
      arch: inherit<string | undefined>(v, 'arch', undefined),
      labels: {
        ...((g['node-labels'] as Record<string, string>) ?? {}),
        ...((v['node-labels'] as Record<string, string>) ?? {}),
      },
      taints: [...((g['node-taints'] as TaintSpec[]) ?? []), ...((v['node-taints'] as TaintSpec[]) ?? [])],
      provisionTimeoutMs: inherit(v, 'node-provision-timeout', 5 * 60_000),
      scaleDownUnneededTimeMs: inherit(v, 'scale-down-unneeded-time', 10 * 60_000),
      scaleDownUtilizationThreshold: inherit(v, 'scale-down-utilization-threshold', 0.5),
      drainTimeoutMs: inherit(v, 'drain-timeout', 10 * 60_000),
    });
  }
  if (globals.length && groups.length === 0 && !problems.some((p) => p.startsWith('[nodegroup'))) {
    problems.push(
      `${source}: no [nodegroup "NAME"] section; add one per Slicer host group with slicer-url and slicer-token`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    clusterName: (g['cluster-name'] as string | undefined) ?? 'default',
    k3sUrl: g['k3s-url'] as string,
    k3sToken: g['k3s-token'] as Secret,
    caBundle: g['ca-bundle'] as string | undefined,
    expander: (g['expander'] as string | undefined) ?? 'least-waste',
    scaleDownEnabled: (g['scale-down-enabled'] as boolean | undefined) ?? true,
    groups,
    warnings,
  };
}

/** Reads and validates a cloud-config file. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseConfig(text, path);
}
