import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';
import { apiserverSkewMs } from '../kube/clock.js';
import { VM_ID_LABEL, clusterTag, vmIdOfTags, vmTag } from '../shared/ids.js';
import { nodeIdentity, vmBehindNode, type NodeIdentity } from './vm-identity.js';
import type { VmProvider } from './vm-provider.js';

/**
 * A create whose answer never came (timed out, connection lost) may still make its VM on the daemon: for this long
 * the slot's tag is looked for before the attempt fails and a retry creates again. Slicer answers a create in about
 * a second, so a VM made later than this is rare; if one appears, `reapDuplicateVms` removes it.
 */
export const AMBIGUOUS_CREATE_WAIT_MS = 10_000;
const AMBIGUOUS_CREATE_POLL_MS = 1000;

/** Whether a failed create may have made a VM after all: no answer came (or a gateway gave up waiting for one). */
function answerLost(err: unknown): boolean {
  if (!(err instanceof ApplicationFailure)) return false;
  const kind = (err.details?.[0] as { kind?: string } | undefined)?.kind;
  return kind === 'Timeout' || kind === 'Network';
}

/** Console tails kept as failure evidence are cut to their last this-many characters. */
export const MAX_CONSOLE_TAIL = 4096;

function isCode(err: unknown, code: number): boolean {
  return (err as { code?: number })?.code === code;
}

/** Activities that create and delete VMs, idempotent by operation tag, and never touching a VM that is not theirs. */
export function createVmActivities(deps: { vms: VmProvider; cluster: string; core: CoreV1Api }) {
  const { vms, cluster, core } = deps;

  async function nodesOf(group: string, hostname: string): Promise<V1Node[]> {
    return (await core.listNode({ labelSelector: `${HOSTGROUP_LABEL}=${group},${HOSTNAME_LABEL}=${hostname}` })).items;
  }

  /**
   * The Node (undefined when it is gone) and its identity for `vmBehindNode`: its `vm-id` label (else the one the
   * removal was given) and its creation time on this worker's clock.
   */
  async function readIdentity(args: {
    node: string;
    hostname: string;
    vmId?: string;
  }): Promise<{ node?: V1Node; identity: NodeIdentity }> {
    const sentAt = Date.now();
    let node: V1Node | undefined;
    let skew = 0;
    try {
      const res = await core.readNodeWithHttpInfo({ name: args.node });
      node = res.data;
      skew = apiserverSkewMs(res.headers, sentAt);
    } catch (err) {
      if (!isCode(err, 404)) throw err;
    }
    return { node, identity: nodeIdentity(node, skew, args.hostname, args.vmId) };
  }

  return {
    /**
     * Creates the slot's VM, or returns the one an earlier attempt of the same slot already made (found by the
     * slot's tag, checked on the answer). Its Node will carry `vmId`, which links it to this VM alone.
     */
    async launchVm(args: {
      group: string;
      operationTag: string;
      vmId: string;
    }): Promise<{ hostname: string; reused: boolean; attempt: number }> {
      const attempt = Context.current().info.attempt;
      const existing = await vms.findVmsByTag(args.group, args.operationTag);
      if (existing.length > 0) {
        const oldest = [...existing].sort((a, b) => (a.createdAtMs || 0) - (b.createdAtMs || 0))[0]!;
        return { hostname: oldest.hostname, reused: true, attempt: Math.max(attempt, existing.length) };
      }
      const signal = Context.current().cancellationSignal;
      try {
        const vm = await vms.createVm(
          args.group,
          {
            tags: [args.operationTag, vmTag(args.vmId), clusterTag(cluster)],
            labels: { [VM_ID_LABEL]: args.vmId },
          },
          signal,
        );
        return { hostname: vm.hostname, reused: false, attempt };
      } catch (err) {
        if (!answerLost(err) || signal.aborted) throw err;
        // Creating again now could make a second VM for this slot (and cross max-size): first see whether the
        // lost create made one.
        const deadline = Date.now() + AMBIGUOUS_CREATE_WAIT_MS;
        while (Date.now() < deadline && !signal.aborted) {
          await Context.current().sleep(AMBIGUOUS_CREATE_POLL_MS);
          Context.current().heartbeat({ waitingForLostCreate: args.operationTag });
          const made = await vms.findVmsByTag(args.group, args.operationTag).catch(() => []);
          if (made.length > 0) return { hostname: made[0]!.hostname, reused: true, attempt: attempt + 1 };
        }
        throw err;
      }
    },

    /** Deletes every VM carrying a slot's tag (checked on the answer): what a failed or cancelled slot leaves. */
    async deleteVmsOfSlot(args: { group: string; operationTag: string }): Promise<{ deleted: string[] }> {
      const deleted: string[] = [];
      for (const vm of await vms.findVmsByTag(args.group, args.operationTag)) {
        if ((await vms.deleteVm(args.group, vm.hostname)).existed) deleted.push(vm.hostname);
      }
      return { deleted };
    },

    /**
     * After a slot's VM joined: deletes other VMs of the same slot (a create that timed out on our side and
     * completed later), unless one already became a Node, which then is ordinary capacity for scale-down to judge.
     */
    async reapDuplicateVms(args: {
      group: string;
      operationTag: string;
      keep: string;
    }): Promise<{ deleted: string[] }> {
      const deleted: string[] = [];
      for (const vm of await vms.findVmsByTag(args.group, args.operationTag)) {
        if (vm.hostname === args.keep) continue;
        const id = vmIdOfTags(vm.tags);
        const joined = (await nodesOf(args.group, vm.hostname)).some((n) => n.metadata?.labels?.[VM_ID_LABEL] === id);
        if (joined) continue;
        if ((await vms.deleteVm(args.group, vm.hostname)).existed) deleted.push(vm.hostname);
      }
      return { deleted };
    },

    /**
     * Deletes the VM behind a Node being removed, and only that VM: the Node's `vm-id` (or, for Nodes that did not
     * join through us, creation times corrected for both clocks) must prove the VM is its machine. A hostname
     * reused by a newer VM is left alone, with the reason.
     */
    async deleteVmOfNode(args: {
      group: string;
      node: string;
      hostname: string;
      vmId?: string;
    }): Promise<{ existed: boolean; skipped?: string }> {
      const { node, identity } = await readIdentity(args);
      if (!node && identity.vmId === undefined)
        return {
          existed: false,
          skipped: `Node ${args.node} is gone and did not name its VM: cannot prove which VM was its`,
        };
      const all = await vms.listVms(args.group);
      const vm = vmBehindNode(identity, all);
      if (vm) return vms.deleteVm(args.group, vm.hostname);
      if (!all.some((v) => v.hostname === args.hostname)) return { existed: false };
      return {
        existed: false,
        skipped: `VM ${args.hostname} is a different machine now (its hostname was reused); left alone`,
      };
    },

    /**
     * Whether the machine behind a NotReady Node is provably gone (Slicer answered and no VM is behind the Node):
     * its pods cannot run anywhere, so draining it is pointless and a pod that blocks a drain must not keep its
     * Node for ever. A Ready Node, or no answer from Slicer, is never "gone".
     */
    async vmOfNodeGone(args: { group: string; node: string; hostname: string; vmId?: string }): Promise<boolean> {
      const { node, identity } = await readIdentity(args);
      // A Node already gone is the removal's own path to handle; a Ready one is drained as usual.
      if (!node || isNodeReady(node)) return false;
      let all;
      try {
        all = await vms.listVms(args.group);
      } catch {
        return false; // without a trustworthy list, drain as usual
      }
      return vmBehindNode(identity, all) === undefined;
    },

    /** The console tail of a VM, for the failure record. Never fails the caller: evidence is best effort. */
    async vmConsoleTail(args: { group: string; hostname: string; lines: number }): Promise<string> {
      try {
        const text = await vms.consoleTail(args.group, args.hostname, Math.min(args.lines, 200));
        return text.length > MAX_CONSOLE_TAIL ? text.slice(-MAX_CONSOLE_TAIL) : text;
      } catch (err) {
        return `(console unavailable: ${(err as Error).message.slice(0, 200)})`;
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
