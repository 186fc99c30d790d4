import { ApplicationFailure } from '@temporalio/activity';
import { clusterTag } from '../workflows/ids.js';
import type { VmProvider } from './vm-provider.js';

/** Activities that create and delete VMs, idempotent by operation tag. */
export function createVmActivities(deps: { vms: VmProvider; cluster: string }) {
  const { vms, cluster } = deps;
  return {
    /** Creates the slot's VM, or returns the one an earlier attempt of the same slot already made. */
    async launchVm(args: { group: string; operationTag: string }): Promise<{ hostname: string; reused: boolean }> {
      const existing = await vms.findVmByTag(args.group, args.operationTag);
      if (existing) return { hostname: existing.hostname, reused: true };
      const vm = await vms.createVm(args.group, [args.operationTag, clusterTag(cluster)]);
      return { hostname: vm.hostname, reused: false };
    },

    /** The VM a slot created, if Slicer has one. */
    async findVmByTag(args: { group: string; operationTag: string }): Promise<{ hostname: string } | undefined> {
      return vms.findVmByTag(args.group, args.operationTag);
    },

    /** Deletes a VM; a VM that is already gone counts as deleted. */
    async deleteVm(args: { group: string; hostname: string }): Promise<{ existed: boolean }> {
      return vms.deleteVm(args.group, args.hostname);
    },

    /** The console tail of a VM, for the failure record. Never fails the caller: evidence is best effort. */
    async vmConsoleTail(args: { group: string; hostname: string; lines: number }): Promise<string> {
      try {
        return await vms.consoleTail(args.group, args.hostname, args.lines);
      } catch (err) {
        return `(console unavailable: ${(err as Error).message})`;
      }
    },
  };
}

/** Raised for a group this worker has no config for; final, since retrying cannot add config. */
export function unknownGroup(group: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `node group '${group}' is not in this worker's cloud-config`,
    'UnknownNodeGroup',
  );
}
