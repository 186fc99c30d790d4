import type { CoreV1Api } from '@kubernetes/client-node';
import type { Config } from '../config/load.js';
import type { SlicerClient } from '../slicer/client.js';
import { clusterTag } from '../workflows/ids.js';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';

/** Something the reconciler found that no operation owns, and what it did about it. */
export interface OrphanFinding {
  kind: 'vm-without-node' | 'node-without-vm' | 'untagged-vm-without-node';
  group: string;
  hostname: string;
  node?: string;
  action: 'deleted-vm' | 'deleted-node' | 'reported';
  reason: string;
}

// creationTimestamp is truncated to the second.
const CLOCK_TOLERANCE_MS = 1000;

/**
 * The sweep that catches what operations cannot: VMs we created whose Node never came and whose operation is gone
 * (a crash before the cleanup, a deleted workflow), and Nodes whose VM vanished (a Slicer daemon restart loses
 * every VM). It acts only on what is provably ours and provably stale, and reports everything else.
 */
export function createReconcileActivities(deps: {
  config: Config;
  core: CoreV1Api;
  slicer: (group: string) => SlicerClient;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  return {
    /**
     * `busyOperations`: workflow IDs of operations in flight (their VMs are theirs to clean up);
     * `busyNodes`: nodes a scale-down is working on.
     */
    async reconcile(args: { busyOperations: string[]; busyNodes: string[] }): Promise<OrphanFinding[]> {
      const findings: OrphanFinding[] = [];
      const busyNodes = new Set(args.busyNodes);
      const owned = (tags: string[]) =>
        tags.some((t) => args.busyOperations.some((op) => t.startsWith(`slicer-autoscaler/op=${op}#`)));
      const nodes = (await deps.core.listNode({ labelSelector: HOSTGROUP_LABEL })).items;
      for (const g of deps.config.groups) {
        let vms;
        try {
          vms = await deps.slicer(g.name).listVms(g.name);
        } catch {
          continue; // Without a trustworthy list, doing nothing is the only safe choice.
        }
        const groupNodes = nodes.filter((n) => n.metadata?.labels?.[HOSTGROUP_LABEL] === g.name);
        const vmByName = new Map(vms.map((v) => [v.hostname, v]));
        for (const vm of vms) {
          if (owned(vm.tags)) continue;
          const created = vm.createdAt ? new Date(vm.createdAt).getTime() : NaN;
          // Twice the provision timeout: a scale-up that is still cleaning up owns it until then.
          if (Number.isNaN(created) || now() - created < 2 * g.provisionTimeoutMs) continue;
          const hasNode = groupNodes.some(
            (n) =>
              n.metadata?.labels?.[HOSTNAME_LABEL] === vm.hostname &&
              new Date(n.metadata?.creationTimestamp ?? 0).getTime() >= created - CLOCK_TOLERANCE_MS,
          );
          if (hasNode) continue;
          if (vm.tags.includes(clusterTag(deps.config.clusterName))) {
            const res = await deps.slicer(g.name).deleteVm(g.name, vm.hostname);
            findings.push({
              kind: 'vm-without-node',
              group: g.name,
              hostname: vm.hostname,
              action: res.deleted ? 'deleted-vm' : 'reported',
              reason: `created ${Math.round((now() - created) / 1000)}s ago by slicer-autoscaler and never became a Node`,
            });
          } else {
            findings.push({
              kind: 'untagged-vm-without-node',
              group: g.name,
              hostname: vm.hostname,
              action: 'reported',
              reason: 'has no Node, but was not created by this cluster’s slicer-autoscaler: left alone',
            });
          }
        }
        for (const n of groupNodes) {
          const name = n.metadata?.name ?? '';
          const hostname = n.metadata?.labels?.[HOSTNAME_LABEL] ?? '';
          if (busyNodes.has(name) || isNodeReady(n)) continue;
          // Slicer reuses hostnames: a VM of the same name created after this Node is a different machine.
          const vm = vmByName.get(hostname);
          const nodeBorn = new Date(n.metadata?.creationTimestamp ?? 0).getTime();
          if (vm && !(vm.createdAt && new Date(vm.createdAt).getTime() > nodeBorn + CLOCK_TOLERANCE_MS)) continue;
          await deps.core.deleteNode({ name }).catch((err: { code?: number }) => {
            if (err.code !== 404) throw err;
          });
          findings.push({
            kind: 'node-without-vm',
            group: g.name,
            hostname,
            node: name,
            action: 'deleted-node',
            reason: vm
              ? `NotReady; VM ${hostname} now is a newer machine`
              : `NotReady and Slicer has no VM ${hostname} any more`,
          });
        }
      }
      return findings;
    },
  };
}
