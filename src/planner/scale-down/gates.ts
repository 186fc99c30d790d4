import { BlockReason, minutes } from '../reasons.js';
import type { PlannerInput } from '../types.js';

/** Why no node may be removed in this evaluation, whatever each node's own state. */
export interface ScaleDownBlock {
  reason: string;
  message: string;
}

/**
 * The first global gate that stops scale-down: paused, disabled, too many unready nodes (cluster-autoscaler's
 * health check: more than --ok-total-unready-count AND more than --max-total-unready-percentage), or a cooldown
 * after a scale-up, a scale-down or a failed scale-down. Undefined when scale-down may proceed.
 */
export function scaleDownGate(input: PlannerInput): ScaleDownBlock | undefined {
  const { now, options, state } = input;
  if (state.paused) return { reason: BlockReason.Paused, message: 'the autoscaler is paused by an operator' };
  if (!options.scaleDownEnabled)
    return { reason: BlockReason.ScaleDownDisabled, message: 'scale-down is disabled (--scale-down-enabled=false)' };
  const unready = input.nodes.filter((n) => !n.ready).length;
  if (
    unready > options.okTotalUnreadyCount &&
    (unready / Math.max(1, input.nodes.length)) * 100 > options.maxTotalUnreadyPercentage
  ) {
    return {
      reason: BlockReason.TooManyUnreadyNodes,
      message: `${unready} of ${input.nodes.length} nodes are unready (more than ${options.okTotalUnreadyCount} and ${options.maxTotalUnreadyPercentage}%): no scale-down until the cluster is healthier`,
    };
  }
  const cooldowns: [number | undefined, number, string][] = [
    [state.lastScaleUpAt, options.scaleDownDelayAfterAddMs, 'a scale-up'],
    [state.lastScaleDownAt, options.scaleDownDelayAfterDeleteMs, 'a scale-down'],
    [state.lastScaleDownFailureAt, options.scaleDownDelayAfterFailureMs, 'a failed scale-down'],
  ];
  for (const [at, delay, what] of cooldowns) {
    if (at !== undefined && now - at < delay) {
      return {
        reason: BlockReason.ScaleDownInCooldown,
        message: `scale-down waits ${minutes(delay - (now - at))} more after ${what}`,
      };
    }
  }
  return undefined;
}
