import { formatDuration } from './duration.js';
import type { Config } from './load.js';

/** The effective config as INI-like text, every token shown as [redacted], for `config check`. */
export function renderConfig(config: Config): string {
  const lines = [
    '[global]',
    `cluster-name = ${config.clusterName}`,
    `k3s-url = ${config.k3sUrl}`,
    `k3s-token = ${config.k3sToken}`,
    ...(config.caBundle ? [`ca-bundle = ${config.caBundle}`] : []),
    `expander = ${config.expander}`,
    `scale-down-enabled = ${config.scaleDownEnabled}`,
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
      `node-provision-timeout = ${formatDuration(g.provisionTimeoutMs)}`,
      `scale-down-unneeded-time = ${formatDuration(g.scaleDownUnneededTimeMs)}`,
      `scale-down-utilization-threshold = ${g.scaleDownUtilizationThreshold}`,
      `drain-timeout = ${formatDuration(g.drainTimeoutMs)}`,
    );
  }
  return lines.join('\n') + '\n';
}
