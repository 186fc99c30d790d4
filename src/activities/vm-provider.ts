/**
 * The node-group contract the activities need from a VM provider, small and explicit like cluster-autoscaler's
 * NodeGroup: the activities never know it is Slicer. Implemented over the Slicer client in `slicer-provider.ts`.
 */
export interface VmProvider {
  /** The VM carrying `tag` in `group`, if any. Used to make creates idempotent. */
  findVmByTag(group: string, tag: string): Promise<{ hostname: string } | undefined>;
  /** Creates one VM in `group` with these tags and the group's k3s join userdata. */
  createVm(group: string, tags: string[], signal?: AbortSignal): Promise<{ hostname: string }>;
  /** Deletes a VM. Resolves `{ existed: false }` when it was already gone. */
  deleteVm(group: string, hostname: string): Promise<{ existed: boolean }>;
  /** The last `lines` of the VM's serial console, for failure evidence. */
  consoleTail(group: string, hostname: string, lines: number): Promise<string>;
}

/** Error types activities raise, as Temporal failure `type`s; workflows list the final ones as non-retryable. */
export const ActivityErrorType = {
  /** The group is not in the cloud-config this worker loaded. */
  UnknownNodeGroup: 'UnknownNodeGroup',
  /** Slicer refused in a way a retry cannot fix (400, 401, 403). */
  SlicerFinal: 'SlicerFinal',
  /** The VM did not become a Ready Node before the provision deadline. */
  NodeNotReadyInTime: 'NodeNotReadyInTime',
} as const;
export type ActivityErrorType = (typeof ActivityErrorType)[keyof typeof ActivityErrorType];
