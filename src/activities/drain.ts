import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { CoreV1Api, V1Node, V1Pod, V1PodDisruptionBudget, V1Taint } from '@kubernetes/client-node';
import { HOSTGROUP_LABEL, HOSTNAME_LABEL, isNodeReady } from '../kube/nodes.js';
import { toPdbInfo, toPodInfo } from '../kube/snapshot.js';
import { PdbBudgets, podBlocker } from '../planner/scale-down/blockers.js';
import type { PlannerOptions } from '../planner/types.js';

/** The planner's rules for what may not be evicted, as the worker was configured. */
export type DrainRules = Pick<
  PlannerOptions,
  'skipNodesWithLocalStorage' | 'skipNodesWithSystemPods' | 'expendablePodsPriorityCutoff'
>;

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
export function createDrainActivities(deps: {
  core: CoreV1Api;
  now?: () => number;
  pollIntervalMs?: number;
  /** PodDisruptionBudgets as the worker's cache holds them, for the kube-system rule. */
  pdbs?: () => readonly V1PodDisruptionBudget[];
  rules?: DrainRules;
}) {
  const { core } = deps;
  const rules: DrainRules = deps.rules ?? {
    skipNodesWithLocalStorage: true,
    skipNodesWithSystemPods: true,
    expendablePodsPriorityCutoff: -10,
  };

  /** Why a pod may not be evicted now, by the planner's own rules; it may have landed after the plan. */
  function protectedBy(pod: V1Pod): string | undefined {
    const info = toPodInfo(pod);
    if (info.priority < rules.expendablePodsPriorityCutoff) return undefined;
    const budgets = new PdbBudgets((deps.pdbs?.() ?? []).map(toPdbInfo));
    return podBlocker(info, budgets.of(info), { options: rules })?.message;
  }
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
      let remaining: V1Pod[] = [];
      let blocked: Record<string, string> = {};
      const timeout = (why: string) => {
        const detail = remaining
          .map((p) => `${podKey(p)}${blocked[podKey(p)] ? ` (${blocked[podKey(p)]})` : ''}`)
          .join(', ');
        return ApplicationFailure.nonRetryable(
          `drain of ${args.node} did not finish by the deadline${why}; still there: ${detail || '(unknown)'}`.slice(
            0,
            2000,
          ),
          'DrainTimeout',
          { remaining: remaining.map(podKey).slice(0, 50), blocked },
        );
      };
      const timeoutAfter = (err: unknown) => timeout(` (last error: ${String((err as Error).message).slice(0, 200)})`);
      let looked = false;
      for (;;) {
        // The deadline holds whatever happens in a round, failed rounds and activity retries included. A retry that
        // starts past it (its worker died mid-drain) still looks once, evicting nothing: the pods may all be gone
        // already, and then the drain is done; otherwise the timeout names them.
        if (now() >= args.deadlineMs) {
          if (!looked) {
            const left = await podsLeft().catch((err: unknown) => err as Error);
            if (left instanceof Error) throw timeoutAfter(left);
            if (!left || left.length === 0) return { evicted: [...evicted] };
            remaining = left;
          }
          throw timeout('');
        }
        let round: { done: boolean };
        try {
          round = await drainRound();
        } catch (err) {
          if (err instanceof ApplicationFailure) throw err;
          if (now() >= args.deadlineMs) throw timeoutAfter(err);
          throw err;
        }
        if (round.done) return { evicted: [...evicted] };
        heartbeat({ node: args.node, remaining: remaining.map(podKey).slice(0, 50), blocked });
        await sleep(Math.min(pollIntervalMs, Math.max(1, args.deadlineMs - now())));
      }

      /** The pods the drain still waits for; undefined when the node is gone. */
      async function podsLeft(): Promise<V1Pod[] | undefined> {
        const node = await core.readNode({ name: args.node }).catch((err: unknown) => {
          if (isCode(err, 404)) return undefined;
          throw err;
        });
        if (!node) return undefined;
        const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${args.node}` });
        // On a node whose kubelet is gone, a terminating pod never finishes terminating: it is as good as gone.
        const ready = isNodeReady(node);
        return pods.items.filter((p) => drainable(p) && (ready || !p.metadata?.deletionTimestamp));
      }

      async function drainRound(): Promise<{ done: boolean }> {
        const left = await podsLeft();
        looked = true;
        if (!left) return { done: true };
        remaining = left;
        blocked = {};
        if (remaining.length === 0) return { done: true };
        // Every pod is checked before any is evicted: a pod the planner protects that landed after the plan (or one
        // an operator's drain found) stops the whole drain, which then rolls back, with nothing evicted for nothing.
        for (const pod of remaining) {
          const protection = pod.metadata?.deletionTimestamp ? undefined : protectedBy(pod);
          if (protection) {
            throw ApplicationFailure.nonRetryable(
              `drain of ${args.node} stopped: ${protection}`.slice(0, 1000),
              'DrainBlocked',
              { remaining: remaining.map(podKey).slice(0, 50), blocked: { [podKey(pod)]: protection.slice(0, 300) } },
            );
          }
        }
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
            if (isCode(err, 429) || isCode(err, 500)) blocked[podKey(pod)] = refusalReason(err).slice(0, 300);
            else throw err;
          }
        }
        return { done: false };
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
