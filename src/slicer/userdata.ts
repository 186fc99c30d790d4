import { isLabelKey, isLabelValue, type TaintSpec } from '../config/keys.js';

/** The Slicer secret that carries the k3s join token into the VM (under /run/slicer/secrets/). */
export const K3S_TOKEN_SECRET = 'k3s-token';

export interface UserdataOptions {
  group: string;
  k3sUrl: string;
  labels: Record<string, string>;
  taints: TaintSpec[];
}

/** Single-quotes a value for POSIX sh; values are validated too, so this is belt and braces. */
function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The first-boot script that joins a VM to k3s as an agent. The token is read from the Slicer secret file, never
 * written into the script; every label and taint is syntax-checked, so nothing from the config can become shell.
 * `--with-node-id` because Slicer reuses hostnames and k3s refuses a node name it has seen before.
 */
export function buildUserdata(opts: UserdataOptions): string {
  const labels: Record<string, string> = {
    ...opts.labels,
    'slicer/hostgroup': opts.group,
    'k3sup.dev/node-type': 'agent',
  };
  for (const [k, v] of Object.entries(labels)) {
    if (!isLabelKey(k) || !isLabelValue(v))
      throw new Error(`userdata: label ${JSON.stringify(k)}=${JSON.stringify(v)} is not a valid Kubernetes label`);
  }
  for (const t of opts.taints) {
    if (!isLabelKey(t.key) || !isLabelValue(t.value))
      throw new Error(`userdata: taint ${JSON.stringify(t.key)} is not valid`);
  }
  if (!/^https?:\/\/[A-Za-z0-9.:\-[\]]+(\/[A-Za-z0-9._~\-/]*)?$/.test(opts.k3sUrl)) {
    throw new Error(
      `userdata: k3s-url ${JSON.stringify(opts.k3sUrl)} has characters a URL of a k3s server never needs`,
    );
  }
  const args = ['--with-node-id'];
  for (const [k, v] of Object.entries(labels)) args.push('--node-label', shQuote(`${k}=${v}`));
  args.push('--node-label', '"slicer/hostname=${HOSTNAME}"');
  for (const t of opts.taints)
    args.push('--node-taint', shQuote(`${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`));
  return [
    '#!/usr/bin/env bash',
    '# slicer-autoscaler: join this VM to k3s as an agent.',
    'set -euo pipefail',
    'HOSTNAME="$(hostname)"',
    `TOKEN_FILE=/run/slicer/secrets/${K3S_TOKEN_SECRET}`,
    'for _ in $(seq 1 60); do [ -s "$TOKEN_FILE" ] && break; sleep 1; done',
    'K3S_TOKEN="$(cat "$TOKEN_FILE")"',
    'export K3S_TOKEN',
    `export K3S_URL=${shQuote(opts.k3sUrl)}`,
    `curl -sfL https://get.k3s.io | sh -s - agent ${args.join(' ')}`,
    '',
  ].join('\n');
}

/** The `--node-label` and `--node-taint` values in a userdata script, as the k3s agent would apply them. */
export function parseJoinFlags(
  userdata: string,
  hostname: string,
): { labels: Record<string, string>; taints: TaintSpec[] } {
  const labels: Record<string, string> = {};
  const taints: TaintSpec[] = [];
  const expand = (s: string) => s.replace(/\$\{HOSTNAME\}|\$HOSTNAME|\$\(hostname\)/g, hostname);
  const re = /--node-(label|taint)(?:=|\s+)("([^"]*)"|'([^']*)'|(\S+))/g;
  for (let m = re.exec(userdata); m; m = re.exec(userdata)) {
    const value = expand(m[3] ?? m[4] ?? m[5] ?? '');
    if (m[1] === 'label') {
      const eq = value.indexOf('=');
      if (eq > 0) labels[value.slice(0, eq)] = value.slice(eq + 1);
    } else {
      const t = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(value);
      if (t) taints.push({ key: t[1]!, value: t[2] ?? '', effect: t[3] as TaintSpec['effect'] });
    }
  }
  return { labels, taints };
}
