import type { TimersDelta, TimersRef } from '../shared/plan-contract.js';

/** A worker serves one cluster's evaluator, maybe a few in tests; more than this are forgotten oldest first. */
const MAX_EVALUATORS = 8;

interface Entry {
  epoch: string;
  version: number;
  /** The timers as the last plan computed them. */
  truth: Record<string, number>;
  /** What the evaluator holds at `version`: the truth, lagging by whatever capped deltas left out. */
  held: Record<string, number>;
}

/** What a plan needs from the store: the timers to plan with, and the evaluator's copy to compute a delta against. */
export interface ResolvedTimers {
  truth: Record<string, number>;
  held: Record<string, number>;
}

/**
 * The worker's copy of each evaluator's unneeded-since timers, so a plan request carries a reference instead of
 * one entry per unneeded node. The evaluator's copy is the durable one: after a failover the new worker has no
 * entry, answers `needTimers`, and gets the full map once.
 */
export class TimerStore {
  private readonly entries = new Map<string, Entry>();

  /** The timers for this request, or undefined when this worker has no copy of that version. */
  resolve(evaluatorId: string, ref: TimersRef): ResolvedTimers | undefined {
    if (ref.full) return { truth: { ...ref.full }, held: { ...ref.full } };
    const e = this.entries.get(evaluatorId);
    if (!e || e.epoch !== ref.epoch || e.version !== ref.version) return undefined;
    return { truth: { ...e.truth }, held: { ...e.held } };
  }

  /**
   * The change from `before` to `after`, at most `cap` entries (cleared ones first: they keep an old time from
   * shortening a later timer). What is left over goes in the next plans; until then the evaluator's copy lags.
   */
  delta(before: Record<string, number>, after: Record<string, number>, cap: number): TimersDelta {
    const cleared = Object.keys(before)
      .filter((k) => !(k in after))
      .sort()
      .slice(0, cap);
    const set: Record<string, number> = {};
    let room = cap - cleared.length;
    for (const k of Object.keys(after).sort()) {
      if (room <= 0) break;
      if (before[k] === after[k]) continue;
      set[k] = after[k]!;
      room -= 1;
    }
    return { set, cleared };
  }

  /** Records version + 1: the evaluator's copy with this plan's delta applied, and the plan's own timers. */
  store(
    evaluatorId: string,
    ref: TimersRef,
    held: Record<string, number>,
    delta: TimersDelta,
    truth: Record<string, number>,
  ): void {
    const next = { ...held };
    for (const k of delta.cleared) delete next[k];
    Object.assign(next, delta.set);
    this.entries.delete(evaluatorId);
    this.entries.set(evaluatorId, { epoch: ref.epoch, version: ref.version + 1, truth: { ...truth }, held: next });
    while (this.entries.size > MAX_EVALUATORS) this.entries.delete(this.entries.keys().next().value!);
  }
}
