/** A VM as the activities see it: its hostname, tags and creation time on this worker's clock. */
export interface VmRecord {
  hostname: string;
  tags: string[];
  /** When Slicer created it, corrected for the Slicer host's clock skew (NaN if Slicer did not say). */
  createdAtMs: number;
}

/**
 * The node-group contract the activities need from a VM provider, small and explicit like cluster-autoscaler's
 * NodeGroup: the activities never know it is Slicer. Implemented over the Slicer client in `slicer-provider.ts`.
 */
export interface VmProvider {
  /**
   * The VMs of `group` carrying `tag`. Checked on the answer, not trusted to the server's filter: an older daemon
   * ignores `?tag=` and returns every VM.
   */
  findVmsByTag(group: string, tag: string): Promise<VmRecord[]>;
  /** Every VM of `group`. */
  listVms(group: string): Promise<VmRecord[]>;
  /** Creates one VM in `group` with these tags, joining with the group's labels plus `labels`. */
  createVm(
    group: string,
    opts: { tags: string[]; labels?: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<{ hostname: string }>;
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
  /** The VM did not become a usable Node before the provision deadline. */
  NodeNotReadyInTime: 'NodeNotReadyInTime',
  /** The worker's view of the cluster is not complete yet: planning waits rather than act on it. */
  CacheNotSynced: 'CacheNotSynced',
  /** A pod on a node being drained may not be evicted (it became protected after the plan). */
  DrainBlocked: 'DrainBlocked',
} as const;
export type ActivityErrorType = (typeof ActivityErrorType)[keyof typeof ActivityErrorType];
