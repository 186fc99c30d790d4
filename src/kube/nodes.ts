import type { V1Node } from '@kubernetes/client-node';
import { STARTUP_TAINTS } from '../shared/startup-taints.js';

/** The labels the k3s join sets on a Slicer node: the only link from a Node to its VM. */
export const HOSTGROUP_LABEL = 'slicer/hostgroup';
export const HOSTNAME_LABEL = 'slicer/hostname';

/** Ready=True, as the kubelet (or KWOK) reports it. */
export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Ready and past its startup taints: the scheduler can place pods on it now. */
export function isNodeUsable(node: V1Node): boolean {
  return isNodeReady(node) && !(node.spec?.taints ?? []).some((t) => STARTUP_TAINTS.has(t.key));
}
