import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { CoreV1Api, V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL } from '../kube/nodes.js';

/** cluster-autoscaler's taint name, so tools and schedulers that know it treat our nodes the same way. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';
/** Remembers that the node was already cordoned before us, so a rollback leaves an operator's cordon alone. */
export const WAS_CORDONED_ANNOTATION = 'slicer-autoscaler/was-unschedulable';

interface ApiError {
  code?: number;
  body?: unknown;
}

function isCode(err: unknown, code: number): boolean {
  return (err as ApiError)?.code === code;
}

/** DaemonSet pods are recreated on the node anyway and mirror pods belong to the kubelet: drains skip both. */
function drainable(pod: V1Pod): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !pod.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet');
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function refusalReason(err: unknown): string {
  const body = (err as ApiError).body;
  try {
    const status = JSON.parse(typeof body === 'string' ? body : JSON.stringify(body)) as { message?: string };
    return status.message ?? 'eviction refused';
  } catch {
    return 'eviction refused';
  }
}

/** Activities that cordon, drain and restore Nodes. All of them are safe to repeat. */
export function createDrainActivities(deps: { core: CoreV1Api; now?: () => number; pollIntervalMs?: number }) {
  const { core } = deps;
  const now = deps.now ?? Date.now;
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;

  async function patchNode(node: V1Node, ops: object[]): Promise<void> {
    // The resourceVersion test makes a concurrent change fail the patch (409/422) instead of being overwritten;
    // Temporal retries the activity, which re-reads the node.
    await core.patchNode({
      name: node.metadata!.name!,
      body: [{ op: 'test', path: '/metadata/resourceVersion', value: node.metadata!.resourceVersion }, ...ops],
    });
  }

  return {
    /** Adds the to-be-deleted taint and cordons the node. Returns false if the node no longer exists. */
    async taintAndCordon(args: { node: string; group: string; hostname: string }): Promise<{ found: boolean }> {
      const node = await core.readNode({ name: args.node }).catch((err: unknown) => {
        if (isCode(err, 404)) return undefined;
        throw err;
      });
      if (!node) return { found: false };
      const labels = node.metadata?.labels ?? {};
      if (labels[HOSTGROUP_LABEL] !== args.group || labels[HOSTNAME_LABEL] !== args.hostname) {
        throw ApplicationFailure.nonRetryable(
          `node ${args.node} is labelled ${labels[HOSTGROUP_LABEL]}/${labels[HOSTNAME_LABEL]}, not ${args.group}/${args.hostname}`,
          'NodeIdentityMismatch',
        );
      }
      const taints: V1Taint[] = node.spec?.taints ?? [];
      const hasTaint = taints.some((t) => t.key === TO_BE_DELETED_TAINT);
      if (hasTaint && node.spec?.unschedulable) return { found: true };
      const ops: object[] = [];
      if (!hasTaint) {
        const taint = { key: TO_BE_DELETED_TAINT, value: String(Math.floor(now() / 1000)), effect: 'NoSchedule' };
        ops.push({ op: 'add', path: '/spec/taints', value: [...taints, taint] });
      }
      if (!node.spec?.unschedulable) {
        ops.push({ op: 'add', path: '/spec/unschedulable', value: true });
      } else if (!hasTaint) {
        ops.push({
          op: 'add',
          path: `/metadata/annotations`,
          value: { ...node.metadata?.annotations, [WAS_CORDONED_ANNOTATION]: 'true' },
        });
      }
      await patchNode(node, ops);
      return { found: true };
    },

    /** Undoes taintAndCordon: removes our taint and uncordons, unless the node was cordoned before we came. */
    async untaintAndUncordon(args: { node: string }): Promise<{ found: boolean }> {
      const node = await core.readNode({ name: args.node }).catch((err: unknown) => {
        if (isCode(err, 404)) return undefined;
        throw err;
      });
      if (!node) return { found: false };
      const taints = node.spec?.taints ?? [];
      const annotations = node.metadata?.annotations ?? {};
      const wasCordoned = annotations[WAS_CORDONED_ANNOTATION] === 'true';
      const ops: object[] = [];
      if (taints.some((t) => t.key === TO_BE_DELETED_TAINT)) {
        ops.push({ op: 'replace', path: '/spec/taints', value: taints.filter((t) => t.key !== TO_BE_DELETED_TAINT) });
      }
      if (node.spec?.unschedulable && !wasCordoned)
        ops.push({ op: 'replace', path: '/spec/unschedulable', value: false });
      if (wasCordoned) {
        const rest = Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== WAS_CORDONED_ANNOTATION));
        ops.push({ op: 'replace', path: '/metadata/annotations', value: rest });
      }
      if (ops.length > 0) await patchNode(node, ops);
      return { found: true };
    },

    /**
     * Evicts every drainable pod through the Eviction API, so PodDisruptionBudgets are honoured by the apiserver
     * itself, and waits for them to be gone. Refusals (429) are retried each round. Fails with DrainTimeout at the
     * absolute deadline, naming the pods still there and why.
     */
    async drainNode(args: { node: string; deadlineMs: number }): Promise<{ evicted: string[] }> {
      const evicted = new Set<string>();
      for (;;) {
        const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${args.node}` });
        const remaining = pods.items.filter(drainable);
        if (remaining.length === 0) return { evicted: [...evicted] };
        const blocked: Record<string, string> = {};
        for (const pod of remaining) {
          if (pod.metadata?.deletionTimestamp) continue; // already on its way out
          try {
            await core.createNamespacedPodEviction({
              name: pod.metadata!.name!,
              namespace: pod.metadata!.namespace!,
              body: {
                apiVersion: 'policy/v1',
                kind: 'Eviction',
                metadata: { name: pod.metadata!.name!, namespace: pod.metadata!.namespace! },
              },
            });
            evicted.add(podKey(pod));
          } catch (err) {
            if (isCode(err, 404)) continue;
            if (isCode(err, 429) || isCode(err, 500)) blocked[podKey(pod)] = refusalReason(err);
            else throw err;
          }
        }
        heartbeat({ node: args.node, remaining: remaining.map(podKey), blocked });
        if (now() >= args.deadlineMs) {
          const detail = remaining
            .map((p) => `${podKey(p)}${blocked[podKey(p)] ? ` (${blocked[podKey(p)]})` : ''}`)
            .join(', ');
          throw ApplicationFailure.nonRetryable(
            `drain of ${args.node} did not finish by the deadline; still there: ${detail}`,
            'DrainTimeout',
            {
              remaining: remaining.map(podKey),
              blocked,
            },
          );
        }
        await sleep(Math.min(pollIntervalMs, Math.max(1, args.deadlineMs - now())));
      }
    },

    /** Deletes the Node object; one already gone counts as deleted. */
    async deleteNode(args: { node: string }): Promise<{ existed: boolean }> {
      try {
        await core.deleteNode({ name: args.node });
        return { existed: true };
      } catch (err) {
        if (isCode(err, 404)) return { existed: false };
        throw err;
      }
    },
  };
}
