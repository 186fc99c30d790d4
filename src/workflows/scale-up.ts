import {
  ApplicationFailure,
  CancellationScope,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities/index.js';
import { failureMessage, failureType, notifyFinished, notifyOf } from './failures.js';
import { operationTag } from './ids.js';
import { NodeGroupKey, ScalingPhaseKey } from './search-attributes.js';

/** What the evaluator (or an operator) asks for: `count` new VMs in one node group. */
export const ScaleUpInputSchema = z.object({
  group: z.string().min(1),
  count: z.number().int().min(1).max(1000),
  /** Why: the pods this serves, or the operator command; shown in the Temporal UI. */
  reason: z.string().max(2000).default(''),
  /** How long a VM may take from create to a Ready Node before it is deleted. */
  provisionTimeoutMs: z.number().int().positive(),
  /** Workflow ID to signal `operationFinished` when done (the evaluator that started this). */
  notify: z.string().min(1).optional(),
});
export type ScaleUpInput = z.input<typeof ScaleUpInputSchema>;

/** One VM's outcome. A VM that never joined is deleted, and its console tail is kept as evidence. */
export type SlotResult =
  | { slot: number; outcome: 'joined'; hostname: string; node: string; readyAfterMs: number }
  | {
      slot: number;
      outcome: 'failed';
      hostname?: string;
      reason: string;
      message: string;
      consoleTail?: string;
      vmDeleted: boolean;
    };

export interface ScaleUpResult {
  group: string;
  requested: number;
  joined: number;
  slots: SlotResult[];
}

// Named timeout profiles. The create call may wait on a busy Slicer host; joins are watched by a heartbeating activity
// so a worker that dies mid-wait hands the watch to another worker within the heartbeat timeout.
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
const joinWatch = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', nonRetryableErrorTypes: ['NodeNotReadyInTime'] },
});

/**
 * Creates `count` VMs in one node group, waits for each to become a Ready Node within the provision timeout, and
 * deletes any VM that does not, keeping its console tail. Never leaves a VM it created without either a Ready Node
 * or a delete.
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
  const { workflowId, startTime } = workflowInfo();
  // The join deadline is absolute, so activity retries and worker restarts never extend it.
  const deadlineMs = startTime.getTime() + input.provisionTimeoutMs;
  upsertSearchAttributes([
    { key: NodeGroupKey, value: input.group },
    { key: ScalingPhaseKey, value: 'launching' },
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
    progress.set(slot, 'creating VM');
    report();
    let hostname: string | undefined;
    // Workflow time is the same on every replay and retry; Nodes older than this belong to an earlier VM.
    const launchedAtMs = Date.now();
    try {
      const vm = await vmCreate.launchVm({ group: input.group, operationTag: operationTag(workflowId, slot) });
      hostname = vm.hostname;
      progress.set(slot, `VM ${hostname} created, waiting for its Node`);
      report();
      const node = await joinWatch.awaitNodeReady({ group: input.group, hostname, deadlineMs, launchedAtMs });
      progress.set(slot, `Node ${node.node} Ready`);
      report();
      return {
        slot,
        outcome: 'joined',
        hostname,
        node: node.node,
        readyAfterMs: node.observedAtMs - startTime.getTime(),
      };
    } catch (err) {
      const reason = failureType(err) ?? 'Error';
      const message = failureMessage(err);
      log.warn('slot failed; cleaning up', { slot, hostname, reason, message });
      if (hostname === undefined) {
        // The create failed for good. A VM may still exist if Slicer made it and the answer was lost: find it by tag.
        const found = await quick.findVmByTag({ group: input.group, operationTag: operationTag(workflowId, slot) });
        hostname = found?.hostname;
      }
      if (hostname === undefined) {
        progress.set(slot, `failed (${reason}), no VM left behind`);
        report();
        return { slot, outcome: 'failed', reason, message, vmDeleted: false };
      }
      const vmHostname = hostname;
      // Cleanup must finish even if the workflow is being cancelled.
      const cleanup = await CancellationScope.nonCancellable(async () => {
        const consoleTail = await quick
          .vmConsoleTail({ group: input.group, hostname: vmHostname, lines: 50 })
          .catch(() => undefined);
        await quick.deleteNodesOfVm({ group: input.group, hostname: vmHostname });
        // deleteVm retries until Slicer confirms; a 404 means it is already gone, which is just as good.
        await quick.deleteVm({ group: input.group, hostname: vmHostname });
        return { consoleTail, vmDeleted: true };
      });
      progress.set(slot, `failed (${reason}); VM ${vmHostname} deleted`);
      report();
      return { slot, outcome: 'failed', hostname: vmHostname, reason, message, ...cleanup };
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
    message:
      failed.length === 0
        ? `${joined} VM(s) joined`
        : `${joined}/${input.count} joined; ${failed.map((f) => `${f.reason}: ${f.message}`).join('; ')}`,
  });
  return { group: input.group, requested: input.count, joined, slots };
}
