import type { V1Node } from '@kubernetes/client-node';
import { VM_ID_LABEL, vmIdOfTags } from '../shared/ids.js';
import type { VmRecord } from './vm-provider.js';

/** Creation times have one-second resolution on both sides, and each clock-skew estimate is good to about a second. */
export const IDENTITY_TOLERANCE_MS = 2000;

/** A Node as identity checks need it: its VM labels and when it registered, on this worker's clock. */
export interface NodeIdentity {
  hostname: string;
  /** The `slicer-autoscaler/vm-id` label, if it joined through us. */
  vmId?: string;
  createdAtMs: number;
}

/**
 * The VM behind a Node, or undefined when no VM provably is. Slicer reuses hostnames, so the hostname alone proves
 * nothing: a Node that joined through us names its VM by `vm-id`, and only the VM tagged with it matches. A Node
 * without that label (made by hand or by the incumbent autoscaler) matches the VM of its hostname only if that VM
 * was created before the Node registered; one created later is a newer machine that reused the name.
 */
export function vmBehindNode(node: NodeIdentity, vms: readonly VmRecord[]): VmRecord | undefined {
  const named = vms.filter((vm) => vm.hostname === node.hostname);
  if (node.vmId !== undefined) return named.find((vm) => vmIdOfTags(vm.tags) === node.vmId);
  return named.find(
    (vm) =>
      vmIdOfTags(vm.tags) === undefined &&
      !Number.isNaN(vm.createdAtMs) &&
      vm.createdAtMs <= node.createdAtMs + IDENTITY_TOLERANCE_MS,
  );
}

/**
 * A Node's identity on this worker's clock: its `vm-id` label (else `fallbackVmId`) and its creation time less the
 * apiserver's skew (-Infinity when unknown, so no VM is "older" than it by time alone).
 */
export function nodeIdentity(
  node: V1Node | undefined,
  skewMs: number,
  hostname: string,
  fallbackVmId?: string,
): NodeIdentity {
  const t = node?.metadata?.creationTimestamp ? new Date(node.metadata.creationTimestamp).getTime() : NaN;
  return {
    hostname,
    vmId: node?.metadata?.labels?.[VM_ID_LABEL] ?? fallbackVmId,
    createdAtMs: Number.isNaN(t) ? -Infinity : t - skewMs,
  };
}
