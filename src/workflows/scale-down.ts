import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities/index.js';
import { failureDetails, failureMessage, failureType, notifyFinished, notifyOf } from './failures.js';
import { AutoscalerClusterKey, NodeGroupKey, NodeNameKey, ScalingPhaseKey } from './search-attributes.js';

/** Remove one node: which Node, and the VM behind it. */
export const ScaleDownInputSchema = z.object({
  node: z.string().min(1),
  group: z.string().min(1),
  hostname: z.string().min(1),
  /** The node's VM identity label, if known: when the Node is already gone, only the VM carrying it is deleted. */
  vmId: z.string().min(1).max(63).optional(),
  /** The cluster name, for the AutoscalerCluster search attribute. */
  cluster: z.string().min(1).optional(),
  /** How long the drain may take before the node is put back in service. */
  drainTimeoutMs: z.number().int().positive(),
  reason: z.string().max(2000).default(''),
  /** Workflow ID to signal `operationFinished` when done (the evaluator that started this). */
  notify: z.string().min(1).optional(),
});
export type ScaleDownInput = z.input<typeof ScaleDownInputSchema>;

export type ScaleDownResult =
  | {
      outcome: 'removed';
      node: string;
      hostname: string;
      evicted: string[];
      vmExisted: boolean;
      /** Why the VM was left alone (its hostname now belongs to a newer machine), if it was. */
      vmSkipped?: string;
    }
  | {
      outcome: 'rolled-back';
      node: string;
      reason: string;
      message: string;
      remaining: string[];
      blocked: Record<string, string>;
    }
  | { outcome: 'node-gone'; node: string; hostname: string; vmExisted: boolean; vmSkipped?: string };

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: ['NodeIdentityMismatch', 'UnknownNodeGroup', 'SlicerFinal'],
  },
});
function drainActivities(drainTimeoutMs: number) {
  // The activity enforces the absolute deadline itself on every round, failed rounds included; the timeout here
  // only catches a worker that vanished mid-drain, so it is the drain timeout plus a margin.
  return proxyActivities<Activities>({
    startToCloseTimeout: drainTimeoutMs + 60_000,
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      nonRetryableErrorTypes: ['DrainTimeout', 'DrainBlocked'],
    },
  });
}

/**
 * Taints and cordons a node, drains it through the Eviction API (PodDisruptionBudgets hold), then deletes the VM
 * and the Node. If the drain cannot finish in time, or the workflow is cancelled while draining, the node is put
 * back in service. The VM goes before the Node so the k3s agent cannot register the Node again.
 */
export async function scaleDownWorkflow(rawInput: ScaleDownInput): Promise<ScaleDownResult> {
  const base = {
    workflowId: workflowInfo().workflowId,
    kind: 'scale-down' as const,
    group: String(rawInput?.group ?? '?'),
  };
  let result: ScaleDownResult;
  try {
    result = await removeNode(rawInput);
  } catch (err) {
    // Whatever ends this workflow, the evaluator must stop counting the node as being removed.
    await notifyFinished(notifyOf(rawInput), {
      ...base,
      succeeded: false,
      message: `${failureType(err) ?? 'Error'}: ${failureMessage(err)}`,
    });
    throw err;
  }
  await notifyFinished(notifyOf(rawInput), {
    ...base,
    succeeded: result.outcome !== 'rolled-back',
    message:
      result.outcome === 'rolled-back' ? `${result.reason}: ${result.message}` : `${result.node}: ${result.outcome}`,
  });
  return result;
}

async function removeNode(rawInput: ScaleDownInput): Promise<ScaleDownResult> {
  const parsed = ScaleDownInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `scale-down input: ${issue?.path.join('.') ?? '?'}: ${issue?.message}`,
      'InvalidInput',
    );
  }
  const input = parsed.data;
  const phase = (name: string, detail: string) => {
    upsertSearchAttributes([{ key: ScalingPhaseKey, value: name }]);
    setCurrentDetails(
      `**scale-down ${input.node}** (${input.group}/${input.hostname})\n\n${input.reason}\n\nphase: ${name}: ${detail}`,
    );
  };
  upsertSearchAttributes([
    { key: NodeGroupKey, value: input.group },
    { key: NodeNameKey, value: input.node },
    ...(input.cluster ? [{ key: AutoscalerClusterKey, value: input.cluster }] : []),
  ]);
  const vmArgs = { group: input.group, node: input.node, hostname: input.hostname, vmId: input.vmId };
  const rollBack = async (reason: string) =>
    CancellationScope.nonCancellable(async () => {
      phase('rolling-back', `${reason}; removing the taint and uncordoning`);
      await quick.untaintAndUncordon({ node: input.node });
    });

  phase('tainting', 'adding the ToBeDeletedByClusterAutoscaler taint and cordoning');
  const tainted = await quick.taintAndCordon({ node: input.node, group: input.group, hostname: input.hostname });
  if (!tainted.found) {
    // The Node is gone already; make sure its VM is too, or it would run on unseen.
    phase('deleting-vm', 'the Node no longer exists; deleting its VM if it provably was its VM');
    const vm = await quick.deleteVmOfNode(vmArgs);
    phase('done', `Node was already gone${vm.skipped ? `; ${vm.skipped}` : ''}`);
    return {
      outcome: 'node-gone',
      node: input.node,
      hostname: input.hostname,
      vmExisted: vm.existed,
      ...(vm.skipped && { vmSkipped: vm.skipped }),
    };
  }

  // A NotReady Node whose VM is provably gone (a daemon restart lost it): its pods cannot run, so there is nothing
  // to drain, and a pod that would block the drain must not keep a dead Node for ever. Remove the Node only.
  if (patched('skip-drain-when-vm-gone') && (await quick.vmOfNodeGone(vmArgs))) {
    phase('deleting-node', `the VM behind ${input.node} is gone; deleting the Node without a drain`);
    await quick.deleteNode({ node: input.node });
    const skipped = 'its VM was already gone, so it was not drained (its pods could not run)';
    phase('done', `removed; ${skipped}`);
    return {
      outcome: 'removed',
      node: input.node,
      hostname: input.hostname,
      evicted: [],
      vmExisted: false,
      vmSkipped: skipped,
    };
  }

  const deadlineMs = Date.now() + input.drainTimeoutMs;
  let evicted: string[];
  try {
    phase('draining', `evicting pods (deadline in ${Math.round(input.drainTimeoutMs / 1000)} s)`);
    evicted = (await drainActivities(input.drainTimeoutMs).drainNode({ node: input.node, deadlineMs })).evicted;
  } catch (err) {
    const reason = isCancellation(err) ? 'Cancelled' : (failureType(err) ?? 'Error');
    await rollBack(`drain did not finish (${reason})`);
    phase('rolled-back', failureMessage(err));
    if (isCancellation(err)) throw err;
    const details = failureDetails<{ remaining: string[]; blocked: Record<string, string> }>(err);
    return {
      outcome: 'rolled-back',
      node: input.node,
      reason,
      message: failureMessage(err),
      remaining: details?.remaining ?? [],
      blocked: details?.blocked ?? {},
    };
  }

  phase('deleting-vm', `drained ${evicted.length} pod(s); deleting VM ${input.hostname}`);
  let vm: { existed: boolean; skipped?: string };
  try {
    vm = await quick.deleteVmOfNode(vmArgs);
  } catch (err) {
    // Slicer refuses for good (a protected VM, a revoked token): the node must not stay cordoned and tainted.
    await rollBack(`deleting the VM failed (${failureType(err) ?? 'Error'})`);
    phase('rolled-back', failureMessage(err));
    if (isCancellation(err)) throw err;
    return {
      outcome: 'rolled-back',
      node: input.node,
      reason: failureType(err) ?? 'Error',
      message: `drained, but deleting VM ${input.hostname} failed: ${failureMessage(err)}`.slice(0, 1000),
      remaining: [],
      blocked: {},
    };
  }
  phase('deleting-node', `deleting Node ${input.node}`);
  await quick.deleteNode({ node: input.node });
  phase('done', vm.skipped ? `removed; ${vm.skipped}` : 'removed');
  return {
    outcome: 'removed',
    node: input.node,
    hostname: input.hostname,
    evicted,
    vmExisted: vm.existed,
    ...(vm.skipped && { vmSkipped: vm.skipped }),
  };
}
