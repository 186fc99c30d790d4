import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, log, startChild, uuid4 } from '@temporalio/workflow';
import type { PlannedScaleDown, PlannedScaleUp } from '../shared/plan-contract.js';
import { opIdFrom, scaleDownWorkflowId, scaleUpWorkflowId } from '../shared/ids.js';
import type { EvaluatorState, OperationRecord } from './evaluator-state.js';
import { AutoscalerClusterKey, NodeGroupKey, NodeNameKey } from './search-attributes.js';
import { MAX_SLOTS_PER_SCALE_UP, scaleUpWorkflow } from './scale-up.js';
import { scaleDownWorkflow } from './scale-down.js';

/** `count` split into parts of at most `size`: a scale-up of any size within max-size becomes valid operations. */
export function chunks(count: number, size: number): number[] {
  const out: number[] = [];
  for (let left = count; left > 0; left -= size) out.push(Math.min(left, size));
  return out;
}

/** What an operation's memo carries, so a restarted evaluator can rebuild its books from Temporal's visibility. */
export type OperationMemo = OperationRecord;

/**
 * Starts scale-up and scale-down workflows for the evaluator and records them in its state. IDs are never reused
 * (a random operation ID per scale-up), and a removal that is already running under its ID (started by hand, or by
 * an evaluator that lost its state) is counted as in flight instead of failing the evaluator.
 */
export class OperationStarter {
  constructor(
    private readonly state: EvaluatorState,
    private readonly cluster: string,
    private readonly evaluatorId: string,
  ) {}

  /** Starts one scale-up per MAX_SLOTS_PER_SCALE_UP VMs (each bounded in history), returning their IDs. */
  async scaleUp(up: PlannedScaleUp): Promise<string[]> {
    const ids: string[] = [];
    for (const count of chunks(up.count, MAX_SLOTS_PER_SCALE_UP)) {
      const opId = opIdFrom(uuid4());
      const workflowId = scaleUpWorkflowId(up.group, this.cluster, opId);
      const record: OperationRecord = {
        kind: 'scale-up',
        group: up.group,
        count,
        opId,
        startedAt: Date.now(),
        reason: up.reason.slice(0, 500),
      };
      await this.start(workflowId, record, () =>
        startChild(scaleUpWorkflow, {
          workflowId,
          args: [
            {
              group: up.group,
              count,
              opId,
              cluster: this.cluster,
              reason: up.reason,
              provisionTimeoutMs: up.provisionTimeoutMs,
              notify: this.evaluatorId,
            },
          ],
          // Operations outlive an evaluator run: continue-as-new must not cancel a half-made VM.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `scale-up ${up.group} +${count}`,
          memo: record as unknown as Record<string, unknown>,
          typedSearchAttributes: [
            { key: AutoscalerClusterKey, value: this.cluster },
            { key: NodeGroupKey, value: up.group },
          ],
        }),
      );
      ids.push(workflowId);
    }
    return ids;
  }

  async scaleDown(down: PlannedScaleDown): Promise<string> {
    const workflowId = scaleDownWorkflowId(down.node);
    const record: OperationRecord = {
      kind: 'scale-down',
      group: down.group,
      node: down.node,
      startedAt: Date.now(),
      reason: down.reason.slice(0, 500),
    };
    await this.start(workflowId, record, () =>
      startChild(scaleDownWorkflow, {
        workflowId,
        args: [
          {
            node: down.node,
            group: down.group,
            hostname: down.hostname,
            ...(down.vmId && { vmId: down.vmId }),
            cluster: this.cluster,
            reason: down.reason,
            drainTimeoutMs: down.drainTimeoutMs,
            notify: this.evaluatorId,
          },
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `scale-down ${down.node}`,
        memo: record as unknown as Record<string, unknown>,
        typedSearchAttributes: [
          { key: AutoscalerClusterKey, value: this.cluster },
          { key: NodeGroupKey, value: down.group },
          { key: NodeNameKey, value: down.node },
        ],
      }),
    );
    return workflowId;
  }

  private async start(workflowId: string, record: OperationRecord, start: () => Promise<unknown>): Promise<void> {
    try {
      await start();
      this.state.started(workflowId, record);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Someone else runs this operation (an operator, or an evaluator run that lost its books). It is in flight
      // all the same; the sweep drops it once it closes, even if it never reports to us.
      log.info('operation already running; counting it as in flight', { workflowId });
      this.state.started(workflowId, { ...record, reason: `already running (not started by this evaluator)` });
    }
  }
}
