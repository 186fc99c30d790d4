import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { z } from 'zod';
import type { SteerActivities, SteerResult } from '../activities/steer.js';
import { AutoscalerClusterKey } from './search-attributes.js';

// The action of a Temporal Schedule made by `slicer-autoscaler schedule add`: pause the autoscaler (or a group) for
// a while, or pin a group at a size for a while (a scale-to-zero window). The evaluator applies it through an
// update, so its limits still hold; a refusal fails this run, which the schedule's recent actions show in the UI.

const MAX_WINDOW_SECONDS = 7 * 24 * 3600;

const common = {
  cluster: z.string().min(1),
  forSeconds: z.number().int().positive().max(MAX_WINDOW_SECONDS),
  reason: z.string().min(1).max(500),
  /** The schedule's ID, recorded by the evaluator with a refusal. */
  source: z.string().min(1).max(300),
};

export const ScheduledActionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pause'), group: z.string().min(1).optional(), ...common }),
  z.object({ kind: z.literal('scale'), group: z.string().min(1), size: z.number().int().nonnegative(), ...common }),
]);
export type ScheduledAction = z.infer<typeof ScheduledActionSchema>;

const steer = proxyActivities<SteerActivities>({
  startToCloseTimeout: '1 minute',
  // An evaluator busy with continue-as-new or a worker restart answers within a few tries.
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** Runs one scheduled action against the cluster's evaluator; fails (visibly) when the evaluator refuses it. */
export async function scheduledActionWorkflow(raw: ScheduledAction): Promise<SteerResult> {
  const parsed = ScheduledActionSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `scheduled action: ${issue?.path.join('.') || '(input)'}: ${issue?.message}`,
      'InvalidInput',
    );
  }
  const action = parsed.data;
  upsertSearchAttributes([{ key: AutoscalerClusterKey, value: action.cluster }]);
  const result = await steer.steerEvaluator(action);
  setCurrentDetails(`**${action.source}**: ${result.outcome}: ${result.message}`);
  if (result.outcome === 'refused') throw ApplicationFailure.nonRetryable(result.message, 'ScheduledActionRefused');
  return result;
}
