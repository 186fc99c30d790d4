import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { autoscalerWorkflowId } from '../shared/ids.js';
import { overrideSizeUpdate, pauseUpdate } from '../workflows/messages.js';
import type { ScheduledAction } from '../workflows/scheduled-action.js';

/** What the evaluator answered a scheduled action. */
export interface SteerResult {
  outcome: 'applied' | 'refused';
  message: string;
}

/**
 * The activity behind scheduled actions: a workflow cannot send an update to another workflow, so this one does it
 * with the worker's client. A refusal (a limit, an unknown group, no evaluator) is an answer, not an error to retry.
 */
export function createSteerActivities() {
  return {
    async steerEvaluator(action: ScheduledAction): Promise<SteerResult> {
      const handle = Context.current().client.workflow.getHandle(autoscalerWorkflowId(action.cluster));
      try {
        if (action.kind === 'pause') {
          await handle.executeUpdate(pauseUpdate, {
            args: [{ group: action.group, reason: action.reason, forSeconds: action.forSeconds }],
          });
          const what = action.group ? `paused ${action.group}` : 'paused';
          return { outcome: 'applied', message: `${what} for ${action.forSeconds}s: ${action.reason}` };
        }
        await handle.executeUpdate(overrideSizeUpdate, {
          args: [
            {
              group: action.group,
              size: action.size,
              forSeconds: action.forSeconds,
              reason: action.reason,
              source: action.source,
            },
          ],
        });
        return {
          outcome: 'applied',
          message: `${action.group} pinned at ${action.size} for ${action.forSeconds}s: ${action.reason}`,
        };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError)
          return { outcome: 'refused', message: err.cause?.message ?? err.message };
        if (err instanceof WorkflowNotFoundError)
          return { outcome: 'refused', message: `no evaluator ${autoscalerWorkflowId(action.cluster)} is running` };
        // Anything else (connection, timeout) is transient: let Temporal retry.
        throw err;
      }
    },
  };
}

export type SteerActivities = ReturnType<typeof createSteerActivities>;
