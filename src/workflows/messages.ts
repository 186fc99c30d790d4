import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { MAX_CHANGE_REASON } from '../shared/operations.js';
import type { EvaluatorStatus, Explanation, PlanSummary } from './evaluator-state.js';

// Every signal, update and query of the evaluator, shared by the worker, our CLI and tests. Each takes one object,
// so `temporal workflow update execute --input '{...}'` works by hand too. Inputs are validated with zod in the
// update validators (before anything reaches history) and in signal handlers (bad signals are logged and dropped).

/** The watch activity saw something that may change the plan. Coalesced: a summary, never whole objects. */
export const ClusterChangedSchema = z.object({
  reasons: z.array(z.string().max(MAX_CHANGE_REASON)).max(20),
  /** How many raw changes this summary stands for. */
  changes: z.number().int().nonnegative(),
});
export type ClusterChanged = z.infer<typeof ClusterChangedSchema>;
export const clusterChangedSignal = defineSignal<[ClusterChanged]>('clusterChanged');

/** A scale-up or scale-down workflow finished; sent by the operation itself so the evaluator needs no polling. */
export const OperationFinishedSchema = z.object({
  workflowId: z.string().min(1),
  kind: z.enum(['scale-up', 'scale-down']),
  group: z.string().min(1),
  /** Scale-up: VMs that joined / were asked for; scale-down: removed or not. */
  succeeded: z.boolean(),
  message: z.string().max(2000).default(''),
});
export type OperationFinished = z.input<typeof OperationFinishedSchema>;
export const operationFinishedSignal = defineSignal<[OperationFinished]>('operationFinished');

export const PauseSchema = z.object({
  /** Pause one group only; without it the whole autoscaler pauses. */
  group: z.string().min(1).optional(),
  reason: z.string().min(1, 'say why, e.g. "maintenance window"').max(500),
  /** Resume by itself after this many seconds. */
  forSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
});
export type PauseRequest = z.input<typeof PauseSchema>;
export const pauseUpdate = defineUpdate<EvaluatorStatus, [PauseRequest]>('pause');

export const ResumeSchema = z.object({ group: z.string().min(1).optional() });
export type ResumeRequest = z.input<typeof ResumeSchema>;
export const resumeUpdate = defineUpdate<EvaluatorStatus, [ResumeRequest]>('resume');

export const ScaleGroupSchema = z.object({
  group: z.string().min(1),
  /** The group's desired size; refused outside [min-size, max-size]. */
  size: z.number().int().nonnegative().max(100_000),
  reason: z.string().max(500).default('operator request'),
});
export type ScaleGroupRequest = z.input<typeof ScaleGroupSchema>;
export const scaleGroupUpdate = defineUpdate<{ started: string[]; message: string }, [ScaleGroupRequest]>('scaleGroup');

export const DrainNodeSchema = z.object({
  node: z.string().min(1),
  reason: z.string().max(500).default('operator request'),
});
export type DrainNodeRequest = z.input<typeof DrainNodeSchema>;
export const drainNodeUpdate = defineUpdate<{ workflowId: string }, [DrainNodeRequest]>('drainNode');

export const HoldSchema = z.object({
  node: z.string().min(1),
  reason: z.string().min(1).max(500),
  /** Release the hold by itself after this many seconds; without it the hold lasts until released. */
  forSeconds: z
    .number()
    .int()
    .positive()
    .max(365 * 24 * 3600)
    .optional(),
  release: z.boolean().default(false),
});
export type HoldRequest = z.input<typeof HoldSchema>;
export const holdUpdate = defineUpdate<EvaluatorStatus, [HoldRequest]>('hold');

/**
 * Pin a group at `size` for a while (a scheduled scale-to-zero window): the evaluator scales it there and the planner
 * leaves it alone until the window ends. Limits still hold: a size outside [min-size, max-size] is refused, and the
 * refusal is recorded in `status`.
 */
export const OverrideSizeSchema = z.object({
  group: z.string().min(1),
  size: z.number().int().nonnegative(),
  forSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600),
  reason: z.string().min(1, 'say why, e.g. "night window"').max(500),
  /** Who asks (a schedule's ID, or "operator"); recorded with a refusal. */
  source: z.string().min(1).max(300).default('operator'),
});
export type OverrideSizeRequest = z.input<typeof OverrideSizeSchema>;
export const overrideSizeUpdate = defineUpdate<EvaluatorStatus, [OverrideSizeRequest]>('overrideSize');

// Every operator command is also accepted as a signal of the same name and input, for the Web UI's "Send a Signal"
// and clients that know signals only. A signal cannot answer, so a refused one is recorded in `status.refusals`.
export const pauseSignal = defineSignal<[PauseRequest]>('pause');
export const resumeSignal = defineSignal<[ResumeRequest]>('resume');
export const scaleGroupSignal = defineSignal<[ScaleGroupRequest]>('scaleGroup');
export const drainNodeSignal = defineSignal<[DrainNodeRequest]>('drainNode');
export const holdSignal = defineSignal<[HoldRequest]>('hold');
export const overrideSizeSignal = defineSignal<[OverrideSizeRequest]>('overrideSize');

export const statusQuery = defineQuery<EvaluatorStatus>('status');
export const planQuery = defineQuery<PlanSummary | null>('plan');
export const explainQuery = defineQuery<Explanation, [{ pod?: string; node?: string }]>('explain');

/** The first zod issue as `field: message`, for refusals that name the field. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(input)'}: ${issue.message}` : 'invalid input';
}
