import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';

import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';

function vmSelector(group: string, hostname: string): string {
  return `${HOSTGROUP_LABEL}=${group},${HOSTNAME_LABEL}=${hostname}`;
}

// Both the apiserver's Date header and creationTimestamp have one-second resolution.
const CLOCK_TOLERANCE_MS = 2000;

/**
 * Slicer reuses hostnames, so a Node left by an earlier VM can carry the same labels. Only a Node the apiserver
 * created after this VM was launched belongs to it; the apiserver's Date header corrects for clock skew.
 */
function bornAfter(node: V1Node, notBeforeMs: number, skewMs: number): boolean {
  const created = node.metadata?.creationTimestamp ? new Date(node.metadata.creationTimestamp).getTime() : 0;
  return created >= notBeforeMs + skewMs - CLOCK_TOLERANCE_MS && !node.metadata?.deletionTimestamp;
}

/** Activities that watch and clean up Kubernetes Nodes. */
export function createNodeActivities(deps: { core: CoreV1Api; now?: () => number; pollIntervalMs?: number }) {
  const now = deps.now ?? Date.now;
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;
  return {
    /**
     * Waits until the VM's Node is Ready, heartbeating what it sees. Fails with NodeNotReadyInTime at the
     * absolute deadline, saying whether the Node never registered or registered but never turned Ready.
     */
    async awaitNodeReady(args: {
      group: string;
      hostname: string;
      deadlineMs: number;
      /** When the VM was launched (workflow time); older Nodes with the same labels are a previous VM's. */
      launchedAtMs: number;
    }): Promise<{ node: string; observedAtMs: number }> {
      for (;;) {
        const localNow = now();
        const res = await deps.core.listNodeWithHttpInfo({ labelSelector: vmSelector(args.group, args.hostname) });
        const serverDate = Date.parse(res.headers['date'] ?? '');
        const skewMs = Number.isNaN(serverDate) ? 0 : serverDate - localNow;
        const mine = res.data.items.filter((n) => bornAfter(n, args.launchedAtMs, skewMs));
        const ready = mine.find(isNodeReady);
        if (ready?.metadata?.name) return { node: ready.metadata.name, observedAtMs: now() };
        const registered = mine[0]?.metadata?.name;
        const stale = res.data.items.length - mine.length;
        let seen = registered ? `Node ${registered} registered but not Ready` : 'no Node registered';
        if (stale > 0) seen += `; ignored ${stale} older Node(s) left by an earlier VM with the same hostname`;
        heartbeat({ hostname: args.hostname, seen });
        if (now() >= args.deadlineMs) {
          throw ApplicationFailure.nonRetryable(
            `VM ${args.hostname} in ${args.group} did not become a Ready Node by the provision deadline (${seen})`,
            'NodeNotReadyInTime',
          );
        }
        // Cancellation-aware: a cancelled scale-up stops waiting at once.
        await sleep(Math.min(pollIntervalMs, Math.max(0, args.deadlineMs - now()) + 1));
      }
    },

    /** Deletes every Node object that belongs to a VM; already-gone Nodes count as deleted. */
    async deleteNodesOfVm(args: { group: string; hostname: string }): Promise<{ deleted: string[] }> {
      const nodes = await deps.core.listNode({ labelSelector: vmSelector(args.group, args.hostname) });
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
