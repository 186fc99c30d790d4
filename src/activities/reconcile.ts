import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import type { Config } from '../config/load.js';
import { apiserverSkewMs } from '../kube/clock.js';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';
import { clusterTag, operationTagPrefix, vmIdOfTags } from '../shared/ids.js';
import { TO_BE_DELETED_TAINT } from './drain.js';
import { nodeIdentity, vmBehindNode } from './vm-identity.js';
import type { VmProvider, VmRecord } from './vm-provider.js';

/** Something the reconciler found that no operation owns, and what it did about it. */
export interface OrphanFinding {
  kind: 'vm-without-node' | 'node-without-vm' | 'untagged-vm-without-node' | 'stale-taint';
  group: string;
  hostname: string;
  node?: string;
  action: 'deleted-vm' | 'deleted-node' | 'untainted' | 'reported';
  reason: string;
}

/** At most this many findings per sweep are reported (the rest wait for the next sweep). */
const MAX_FINDINGS = 50;

/**
 * The sweep that catches what operations cannot: VMs we created whose Node never came and whose operation is gone
 * (a crash before the cleanup, a create that completed after we gave up), Nodes whose VM vanished (a Slicer
 * daemon restart loses every VM) or is now a different machine, and removal taints no running removal owns. It
 * acts only on what is provably ours and provably stale, and reports everything else. Times from Slicer and from
 * the apiserver are each corrected for that clock's skew before they are compared.
 */
export function createReconcileActivities(deps: {
  config: Config;
  core: CoreV1Api;
  vms: VmProvider;
  /** Undoes a removal's taint and cordon (keeping an operator's own cordon). */
  untaint?: (node: string) => Promise<unknown>;
  /** Whether a scale-down of this node is running, by its workflow ID (it may not be on the evaluator's books). */
  removalRunning?: (node: string) => Promise<boolean>;
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
        tags.some((t) => args.busyOperations.some((op) => t.startsWith(operationTagPrefix(op))));
      const sentAt = now();
      const res = await deps.core.listNodeWithHttpInfo({ labelSelector: HOSTGROUP_LABEL });
      const skew = apiserverSkewMs(res.headers, sentAt);
      const nodes = res.data.items;
      for (const g of deps.config.groups) {
        let vms: VmRecord[];
        try {
          vms = await deps.vms.listVms(g.name);
        } catch {
          continue; // Without a trustworthy list, doing nothing is the only safe choice.
        }
        const groupNodes = nodes.filter((n) => n.metadata?.labels?.[HOSTGROUP_LABEL] === g.name);
        const identity = (n: V1Node) => nodeIdentity(n, skew, n.metadata?.labels?.[HOSTNAME_LABEL] ?? '');
        const behind = new Set(
          groupNodes.map((n) => vmBehindNode(identity(n), vms)).filter((v): v is VmRecord => v !== undefined),
        );
        for (const vm of vms) {
          if (owned(vm.tags) || behind.has(vm)) continue;
          // Twice the provision timeout: a scale-up that is still cleaning up owns it until then.
          if (Number.isNaN(vm.createdAtMs) || now() - vm.createdAtMs < 2 * g.provisionTimeoutMs) continue;
          const age = `${Math.round((now() - vm.createdAtMs) / 1000)}s`;
          if (vm.tags.includes(clusterTag(deps.config.clusterName))) {
            const res = await deps.vms.deleteVm(g.name, vm.hostname);
            findings.push({
              kind: 'vm-without-node',
              group: g.name,
              hostname: vm.hostname,
              action: res.existed ? 'deleted-vm' : 'reported',
              reason: `created ${age} ago by slicer-autoscaler${vmIdOfTags(vm.tags) ? '' : ' (untagged by VM)'} and never became a Node`,
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
          if (findings.length >= MAX_FINDINGS) return findings;
        }
        for (const n of groupNodes) {
          const name = n.metadata?.name ?? '';
          if (busyNodes.has(name) || isNodeReady(n)) continue;
          if (vmBehindNode(identity(n), vms)) continue;
          await deps.core.deleteNode({ name }).catch((err: { code?: number }) => {
            if (err.code !== 404) throw err;
          });
          const hostname = identity(n).hostname;
          findings.push({
            kind: 'node-without-vm',
            group: g.name,
            hostname,
            node: name,
            action: 'deleted-node',
            reason: vms.some((v) => v.hostname === hostname)
              ? `NotReady; VM ${hostname} now is a different machine`
              : `NotReady and Slicer has no VM ${hostname} any more`,
          });
          if (findings.length >= MAX_FINDINGS) return findings;
        }
        for (const n of groupNodes) {
          const name = n.metadata?.name ?? '';
          if (busyNodes.has(name) || !(n.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT)) continue;
          if (!deps.untaint || (await deps.removalRunning?.(name)) !== false) continue;
          // A removal that ended without undoing its taint (a worker lost mid-rollback, a workflow terminated by
          // hand): put the node back in service.
          await deps.untaint(name);
          findings.push({
            kind: 'stale-taint',
            group: g.name,
            hostname: n.metadata?.labels?.[HOSTNAME_LABEL] ?? '',
            node: name,
            action: 'untainted',
            reason: `carried ${TO_BE_DELETED_TAINT} but no removal of it is running`,
          });
          if (findings.length >= MAX_FINDINGS) return findings;
        }
      }
      return findings;
    },
  };
}
