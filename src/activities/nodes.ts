import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import type { ClusterCache } from '../kube/cluster-cache.js';
import { apiserverSkewMs } from '../kube/clock.js';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady, isNodeUsable } from '../kube/nodes.js';
import { VM_ID_LABEL } from '../shared/ids.js';

// Both the apiserver's Date header and creationTimestamp have one-second resolution.
const CLOCK_TOLERANCE_MS = 2000;
/** Without a cache event, look again this often (an event may be coalesced away, the cache may be resyncing). */
const RECHECK_MS = 2000;

/** Which Nodes belong to the VM being waited for. */
interface JoinTarget {
  group: string;
  hostname: string;
  /** The VM's identity label; without it (workflows from before it existed) the hostname and birth time decide. */
  vmId?: string;
  launchedAtMs: number;
}

/**
 * A Node of this VM: the one with its `vm-id`, never reused. Without one, Slicer's reused hostnames mean only a
 * Node the apiserver created after the VM was launched can be its (the apiserver's clock corrected by `skewMs`).
 */
function belongs(node: V1Node, target: JoinTarget, skewMs: number): boolean {
  const labels = node.metadata?.labels ?? {};
  if (labels[HOSTGROUP_LABEL] !== target.group || node.metadata?.deletionTimestamp) return false;
  if (target.vmId !== undefined) return labels[VM_ID_LABEL] === target.vmId;
  const created = node.metadata?.creationTimestamp ? new Date(node.metadata.creationTimestamp).getTime() : 0;
  return labels[HOSTNAME_LABEL] === target.hostname && created >= target.launchedAtMs + skewMs - CLOCK_TOLERANCE_MS;
}

/** Activities that watch and clean up Kubernetes Nodes. */
export function createNodeActivities(deps: { core: CoreV1Api; cache?: ClusterCache; now?: () => number }) {
  const now = deps.now ?? Date.now;

  /** The target's Nodes, from the warm cache when it is synced, else from the apiserver. */
  async function nodesOf(target: JoinTarget): Promise<V1Node[]> {
    if (deps.cache?.isSynced() && target.vmId !== undefined)
      return deps.cache.nodes().filter((n) => belongs(n, target, 0));
    const sentAt = now();
    const res = await deps.core.listNodeWithHttpInfo({ labelSelector: `${HOSTGROUP_LABEL}=${target.group}` });
    const skew = apiserverSkewMs(res.headers, sentAt);
    return res.data.items.filter((n) => belongs(n, target, skew));
  }

  return {
    /**
     * Waits until the VM's Node is usable (Ready and past its startup taints, so the scheduler can place pods on it
     * and no pending pod orders another VM for the same room), heartbeating what it sees. It wakes on cache events,
     * so a hundred waiting VMs cost no apiserver calls. Fails with NodeNotReadyInTime at the absolute deadline,
     * saying whether the Node never registered, never turned Ready, or kept a startup taint.
     */
    async awaitNodeReady(args: JoinTarget & { deadlineMs: number }): Promise<{ node: string; observedAtMs: number }> {
      const ctx = Context.current();
      let changed: () => void = () => undefined;
      const unsubscribe = deps.cache?.subscribe((c) => {
        if (c.kind === 'node') changed();
      });
      try {
        for (;;) {
          const mine = await nodesOf(args);
          const usable = mine.find(isNodeUsable);
          if (usable?.metadata?.name) return { node: usable.metadata.name, observedAtMs: now() };
          const registered = mine[0];
          const seen = !registered
            ? 'no Node registered'
            : isNodeReady(registered)
              ? `Node ${registered.metadata?.name} Ready but still tainted ${(registered.spec?.taints ?? []).map((t) => t.key).join(', ')}`
              : `Node ${registered.metadata?.name} registered but not Ready`;
          heartbeat({ hostname: args.hostname, seen });
          if (now() >= args.deadlineMs) {
            throw ApplicationFailure.nonRetryable(
              `VM ${args.hostname} in ${args.group} did not become a usable Node by the provision deadline (${seen})`,
              'NodeNotReadyInTime',
            );
          }
          const wait = Math.min(RECHECK_MS, Math.max(0, args.deadlineMs - now()) + 1);
          // Cancellation-aware: ctx.sleep rejects when the scale-up is cancelled.
          await Promise.race([new Promise<void>((resolve) => (changed = resolve)), ctx.sleep(wait)]);
        }
      } finally {
        unsubscribe?.();
      }
    },

    /** Deletes the Nodes that joined with one VM's identity; already-gone Nodes count as deleted. */
    async deleteNodesOfVm(args: { group: string; vmId: string }): Promise<{ deleted: string[] }> {
      const nodes = await deps.core.listNode({
        labelSelector: `${HOSTGROUP_LABEL}=${args.group},${VM_ID_LABEL}=${args.vmId}`,
      });
      const deleted: string[] = [];
      for (const node of nodes.items) {
        const name = node.metadata?.name;
        if (!name) continue;
        await deps.core.deleteNode({ name }).catch((err: { code?: number }) => {
          if (err.code !== 404) throw err;
        });
        deleted.push(name);
      }
      return { deleted };
    },
  };
}
