// What a scale-up returns. The result is recorded twice: in the scale-up's own history and, as the child's
// completion, in the evaluator's, where it counts against the evaluator's history per evaluation. Every slot's full
// outcome is already in the scale-up's history (each create, wait and console read) and in its details in the UI, so
// the result keeps only what a reader needs first: the failures, then a few joined VMs, each bounded.

/** One VM's outcome. A VM that never joined is deleted, and its console tail is kept as evidence. */
export type SlotResult =
  | { slot: number; outcome: 'joined'; hostname: string; node: string; vmId: string; readyAfterMs: number }
  | {
      slot: number;
      outcome: 'failed';
      hostname?: string;
      vmId: string;
      reason: string;
      message: string;
      consoleTail?: string;
      vmDeleted: boolean;
    };

export interface ScaleUpResult {
  group: string;
  requested: number;
  joined: number;
  /** At most MAX_RESULT_SLOTS slots: the failed ones first, then joined ones, each in slot order. */
  slots: SlotResult[];
  /** How many slots the result leaves out (their outcomes are in this workflow's history). */
  omittedSlots?: number;
}

/** Slots a result keeps: 50 joined slots were 7.5 KB, and 50 failed ones with console tails far more. */
export const MAX_RESULT_SLOTS = 5;
/** A kept failure's message is cut to this many characters. */
export const MAX_RESULT_MESSAGE = 300;
/** Only the first failure keeps its console tail in the result, and only its last this many characters. */
export const MAX_RESULT_CONSOLE_TAIL = 2000;

/** The bounded result of a scale-up whose slots ended as `slots`. */
export function scaleUpResult(group: string, requested: number, slots: readonly SlotResult[]): ScaleUpResult {
  const bySlot = [...slots].sort((a, b) => a.slot - b.slot);
  const ordered = [...bySlot.filter((s) => s.outcome === 'failed'), ...bySlot.filter((s) => s.outcome === 'joined')];
  const kept = ordered.slice(0, MAX_RESULT_SLOTS).map((s, i): SlotResult => {
    if (s.outcome === 'joined') return s;
    const { consoleTail, ...rest } = s;
    return {
      ...rest,
      message: s.message.slice(0, MAX_RESULT_MESSAGE),
      ...(i === 0 && consoleTail !== undefined && { consoleTail: consoleTail.slice(-MAX_RESULT_CONSOLE_TAIL) }),
    };
  });
  const joined = slots.filter((s) => s.outcome === 'joined').length;
  const omitted = slots.length - kept.length;
  return { group, requested, joined, slots: kept, ...(omitted > 0 && { omittedSlots: omitted }) };
}
