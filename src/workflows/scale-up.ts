import {
  ApplicationFailure,
  CancellationScope,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities/index.js';
import { joinsTaskQueue, opIdFrom, operationTag, vmId as vmIdOf } from '../shared/ids.js';
import { failureMessage, failureType, notifyFinished, notifyOf } from './failures.js';
import { scaleUpResult, type ScaleUpResult, type SlotResult } from './scale-up-result.js';
import { AutoscalerClusterKey, NodeGroupKey, ScalingPhaseKey } from './search-attributes.js';

export type { ScaleUpResult, SlotResult } from './scale-up-result.js';

/**
 * At most this many VMs per scale-up workflow, so its history stays small; the evaluator starts several for a
 * bigger scale-up, and max-size bounds the total.
 */
export const MAX_SLOTS_PER_SCALE_UP = 50;

/** What the evaluator (or an operator) asks for: `count` new VMs in one node group. */
export const ScaleUpInputSchema = z.object({
  group: z.string().min(1),
  count: z.number().int().min(1).max(MAX_SLOTS_PER_SCALE_UP),
  /** Random, never reused: VM `i` of this operation joins with the label vm-id=`<opId>-<i>`. Made here if absent. */
  opId: z
    .string()
    .regex(/^[a-z0-9]{8,40}$/, 'expected 8-40 lowercase letters and digits')
    .optional(),
  /** The cluster name, for the AutoscalerCluster search attribute. */
  cluster: z.string().min(1).optional(),
  /** Why: the pods this serves, or the operator command; shown in the Temporal UI. */
  reason: z.string().max(2000).default(''),
  /** How long a VM may take from create to a usable Node before it is deleted. */
  provisionTimeoutMs: z.number().int().positive(),
  /** Workflow ID to signal `operationFinished` when done (the evaluator that started this). */
  notify: z.string().min(1).optional(),
});
export type ScaleUpInput = z.input<typeof ScaleUpInputSchema>;

// Named timeout profiles. The create call may wait on a busy Slicer host; cleanup calls are quick and idempotent.
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: ['SlicerFinal', 'UnknownNodeGroup'],
  },
});
const vmCreate = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['SlicerFinal', 'UnknownNodeGroup'],
  },
});

/**
 * Creates `count` VMs in one node group, waits for each to become a usable Node within the provision timeout, and
 * deletes any VM that does not, keeping its console tail. Never leaves a VM it created without either a usable
 * Node or a delete, and never touches a VM or Node that is not the one its slot made.
 */
export async function scaleUpWorkflow(rawInput: ScaleUpInput): Promise<ScaleUpResult> {
  try {
    return await scaleUp(rawInput);
  } catch (err) {
    // Whatever ends this workflow, the evaluator must stop counting its VMs as in flight.
    await notifyFinished(notifyOf(rawInput), {
      workflowId: workflowInfo().workflowId,
      kind: 'scale-up',
      group: String(rawInput?.group ?? '?'),
      succeeded: false,
      message: `${failureType(err) ?? 'Error'}: ${failureMessage(err)}`,
    });
    throw err;
  }
}

async function scaleUp(rawInput: ScaleUpInput): Promise<ScaleUpResult> {
  const parsed = ScaleUpInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `scale-up input: ${issue?.path.join('.') ?? '?'}: ${issue?.message}`,
      'InvalidInput',
    );
  }
  const input = parsed.data;
  const opId = input.opId ?? opIdFrom(uuid4());
  const { workflowId, startTime, taskQueue } = workflowInfo();
  // Waiting for a Node holds no slot of the main queue: planning never waits behind a hundred joining VMs.
  const joins = proxyActivities<Activities>({
    taskQueue: joinsTaskQueue(taskQueue),
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      nonRetryableErrorTypes: ['NodeNotReadyInTime'],
    },
  });
  // The join deadline is absolute, so activity retries and worker restarts never extend it.
  const deadlineMs = startTime.getTime() + input.provisionTimeoutMs;
  upsertSearchAttributes([
    { key: NodeGroupKey, value: input.group },
    { key: ScalingPhaseKey, value: 'launching' },
    ...(input.cluster ? [{ key: AutoscalerClusterKey, value: input.cluster }] : []),
  ]);
  const progress = new Map<number, string>();
  const report = () =>
    setCurrentDetails(
      [
        `**scale-up ${input.group} by ${input.count}**`,
        input.reason,
        '',
        ...[...progress.entries()].map(([s, p]) => `- slot ${s}: ${p}`),
      ].join('\n'),
    );

  const launchSlot = async (slot: number): Promise<SlotResult> => {
    const vmId = vmIdOf(opId, slot);
    const tag = operationTag(workflowId, slot);
    progress.set(slot, 'creating VM');
    report();
    let hostname: string | undefined;
    // Workflow time is the same on every replay and retry; Nodes older than this belong to an earlier VM.
    const launchedAtMs = Date.now();
    try {
      const vm = await vmCreate.launchVm({ group: input.group, operationTag: tag, vmId });
      hostname = vm.hostname;
      progress.set(slot, `VM ${hostname} created, waiting for its Node`);
      report();
      const node = await joins.awaitNodeReady({ group: input.group, hostname, vmId, deadlineMs, launchedAtMs });
      progress.set(slot, `Node ${node.node} usable`);
      report();
      // A create that timed out on our side may still have made a VM later: one VM per slot, always.
      if (vm.attempt > 1) await quick.reapDuplicateVms({ group: input.group, operationTag: tag, keep: hostname });
      return {
        slot,
        outcome: 'joined',
        hostname,
        node: node.node,
        vmId,
        readyAfterMs: node.observedAtMs - startTime.getTime(),
      };
    } catch (err) {
      const reason = failureType(err) ?? 'Error';
      const message = failureMessage(err).slice(0, 1000);
      log.warn('slot failed; cleaning up', { slot, hostname, reason, message });
      // Cleanup must finish even if the workflow is being cancelled. Every VM carrying this slot's tag goes (a
      // create whose answer was lost may have made one), and only Nodes that joined with this slot's vm-id.
      const cleanup = await CancellationScope.nonCancellable(async () => {
        const consoleTail =
          hostname === undefined
            ? undefined
            : await quick.vmConsoleTail({ group: input.group, hostname, lines: 50 }).catch(() => undefined);
        await quick.deleteNodesOfVm({ group: input.group, vmId });
        const removed = await quick.deleteVmsOfSlot({ group: input.group, operationTag: tag });
        return { consoleTail, vmDeleted: removed.deleted.length > 0, deleted: removed.deleted };
      });
      const vmHostname = hostname ?? cleanup.deleted[0];
      progress.set(
        slot,
        cleanup.vmDeleted
          ? `failed (${reason}); VM ${cleanup.deleted.join(', ')} deleted`
          : `failed (${reason}), no VM left behind`,
      );
      report();
      return {
        slot,
        outcome: 'failed',
        ...(vmHostname && { hostname: vmHostname }),
        vmId,
        reason,
        message,
        ...(cleanup.consoleTail !== undefined && { consoleTail: cleanup.consoleTail }),
        vmDeleted: cleanup.vmDeleted,
      };
    }
  };

  const slots = await Promise.all(Array.from({ length: input.count }, (_, slot) => launchSlot(slot)));
  const joined = slots.filter((s) => s.outcome === 'joined').length;
  upsertSearchAttributes([
    { key: ScalingPhaseKey, value: joined === input.count ? 'done' : joined === 0 ? 'failed' : 'partial' },
  ]);
  const failed = slots.filter((s) => s.outcome === 'failed');
  await notifyFinished(input.notify, {
    workflowId,
    kind: 'scale-up',
    group: input.group,
    succeeded: failed.length === 0,
    message: (failed.length === 0
      ? `${joined} VM(s) joined`
      : `${joined}/${input.count} joined; ${failed.map((f) => `${f.reason}: ${f.message}`).join('; ')}`
    ).slice(0, 2000),
  });
  return scaleUpResult(input.group, input.count, slots);
}
