import { formatDuration } from './duration.js';
import type { FlagOptions } from './flags.js';
import type { Config } from './load.js';

/** Cloud-config keys and the cluster-autoscaler flag that can set each. */
const FLAG_OF: Record<string, string> = {
  expander: '--expander',
  'scale-down-enabled': '--scale-down-enabled',
  'node-provision-timeout': '--max-node-provision-time',
  'scale-down-unneeded-time': '--scale-down-unneeded-time',
  'scale-down-utilization-threshold': '--scale-down-utilization-threshold',
};

/**
 * The effective config as gcfg text, every token shown as [redacted], for `config check`. A value a flag gave is
 * marked `; from --flag`; with `flags`, the worker-only flags follow as comments.
 */
export function renderConfig(config: Config, flags?: FlagOptions): string {
  const line = (key: string, value: unknown, fromFlags: string[]) =>
    `${key} = ${value}${fromFlags.includes(key) ? ` ; from ${FLAG_OF[key]}` : ''}`;
  const lines = [
    '[global]',
    `cluster-name = ${config.clusterName}`,
    `k3s-url = ${config.k3sUrl}`,
    `k3s-token = ${config.k3sToken}`,
    ...(config.caBundle ? [`ca-bundle = ${config.caBundle}`] : []),
    line('expander', config.expander, config.fromFlags),
    line('scale-down-enabled', config.scaleDownEnabled, config.fromFlags),
  ];
  for (const g of config.groups) {
    lines.push(
      '',
      `[nodegroup "${g.name}"]`,
      `slicer-url = ${g.slicerUrl}`,
      `slicer-token = ${g.slicerToken}`,
      `min-size = ${g.minSize}`,
      `max-size = ${g.maxSize}`,
      `priority = ${g.priority}`,
      `arch = ${g.arch ?? '(from the Slicer host group)'}`,
      `node-labels = ${Object.entries(g.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
      `node-taints = ${g.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(',')}`,
      line('node-provision-timeout', formatDuration(g.provisionTimeoutMs), g.fromFlags),
      line('scale-down-unneeded-time', formatDuration(g.scaleDownUnneededTimeMs), g.fromFlags),
      line('scale-down-utilization-threshold', g.scaleDownUtilizationThreshold, g.fromFlags),
      `drain-timeout = ${formatDuration(g.drainTimeoutMs)}`,
    );
  }
  if (flags) lines.push('', '; worker flags in effect', ...workerFlagLines(flags).map((l) => `; ${l}`));
  return lines.join('\n') + '\n';
}

/** The flags that only the worker reads (the rest show above as cloud-config values). */
function workerFlagLines(f: FlagOptions): string[] {
  return [
    `--scan-interval=${formatDuration(f.scanIntervalMs)}`,
    `--scale-down-delay-after-add=${formatDuration(f.scaleDownDelayAfterAddMs)}`,
    `--scale-down-delay-after-delete=${formatDuration(f.scaleDownDelayAfterDeleteMs)}`,
    `--scale-down-delay-after-failure=${formatDuration(f.scaleDownDelayAfterFailureMs)}`,
    `--scale-down-unready-time=${formatDuration(f.scaleDownUnreadyTimeMs)}`,
    `--max-scale-down-parallelism=${f.maxScaleDownParallelism}`,
    `--max-nodes-total=${f.maxNodesTotal}`,
    `--expendable-pods-priority-cutoff=${f.expendablePodsPriorityCutoff}`,
    `--balance-similar-node-groups=${f.balanceSimilarNodeGroups}`,
    `--new-pod-scale-up-delay=${formatDuration(f.newPodScaleUpDelayMs)}`,
    `--namespace=${f.namespace}`,
    `--status-namespace=${f.statusNamespace}`,
    `--health-port=${f.healthPort}`,
    `--v=${f.verbosity}`,
  ];
}
