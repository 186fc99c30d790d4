import type { GroupView, PlannedScaleDown, PlannedScaleUp, PlanResult } from '../shared/plan-contract.js';

// Dry-run records and temporary size overrides (the action of a scheduled scale-to-zero window): the evaluator's
// steering state beyond pauses and holds. Pure and plain JSON, like evaluator-state.ts, so it is unit-tested
// without a server and carried through continue-as-new.

/** What a dry-run evaluation would have started. */
export interface WouldHave {
  at: number;
  scaleUps: PlannedScaleUp[];
  scaleDowns: PlannedScaleDown[];
}

/** A group pinned at `size` until `until`: the evaluator scales it there and the planner leaves it alone. */
export interface SizeOverride {
  size: number;
  until: number;
  reason: string;
}

export interface SteeringData {
  wouldHave?: WouldHave;
  overrides?: Record<string, SizeOverride>;
}

/** A node whose override scale-down rolled back is not tried again for this long (a PDB may still hold). */
export const OVERRIDE_RETRY_MS = 5 * 60_000;

/** Why `size` breaks the group's limits, or undefined when it is within [min-size, max-size]. */
export function limitBreach(group: string, size: number, view: GroupView | undefined): string | undefined {
  if (!view) return `unknown node group '${group}'`;
  if (size > view.max) return `${group} to ${size} refused: max-size is ${view.max}`;
  if (size < view.min) return `${group} to ${size} refused: min-size is ${view.min}`;
  return undefined;
}

/** Drops overrides whose window is over. Returns true if any was dropped. */
export function expireOverrides(data: SteeringData, now: number): boolean {
  let changed = false;
  for (const [group, o] of Object.entries(data.overrides ?? {})) {
    if (o.until <= now) {
      delete data.overrides![group];
      changed = true;
    }
  }
  return changed;
}

export function overrideExpiries(data: SteeringData): number[] {
  return Object.values(data.overrides ?? {}).map((o) => o.until);
}

export type OverrideStep =
  | { kind: 'up'; up: PlannedScaleUp }
  | {
      kind: 'down';
      group: string;
      /** How many nodes to remove. */
      count: number;
      reason: string;
      drainTimeoutMs: number;
      /** Scale-down workflow IDs that failed lately: their nodes are not tried again yet. */
      skip: string[];
    }
  | { kind: 'refused'; group: string; message: string };

/**
 * What it takes to bring each overridden group to its pinned size: scale-ups for the missing VMs, or how many nodes
 * to remove (the evaluator picks them, idle first, never held or busy ones, and not those whose removal failed in
 * the last OVERRIDE_RETRY_MS). Limits are checked again against the latest plan (the config may have changed since
 * the override was accepted): a breach drops the override with a refusal.
 */
export function overrideSteps(
  data: SteeringData & { recent: { workflowId: string; kind: string; succeeded: boolean; at: number }[] },
  plan: PlanResult,
  now: number,
  groupSize: (group: string) => number,
): OverrideStep[] {
  const steps: OverrideStep[] = [];
  for (const [group, o] of Object.entries(data.overrides ?? {})) {
    const view = plan.groups[group];
    const breach = limitBreach(group, o.size, view);
    if (breach || !view) {
      steps.push({ kind: 'refused', group, message: `size override ${breach ?? group}` });
      continue;
    }
    const current = groupSize(group);
    if (current < o.size) {
      steps.push({
        kind: 'up',
        up: {
          group,
          count: o.size - current,
          reason: `size override: ${o.reason}`,
          provisionTimeoutMs: view.provisionTimeoutMs,
        },
      });
    } else if (current > o.size) {
      const skip = data.recent
        .filter((r) => r.kind === 'scale-down' && !r.succeeded && now - r.at < OVERRIDE_RETRY_MS)
        .map((r) => r.workflowId);
      steps.push({
        kind: 'down',
        group,
        count: current - o.size,
        reason: `size override: ${o.reason}`,
        drainTimeoutMs: view.drainTimeoutMs,
        skip,
      });
    }
  }
  return steps;
}
