import { describe, expect, it } from 'vitest';
import {
  MAX_RESULT_CONSOLE_TAIL,
  MAX_RESULT_MESSAGE,
  MAX_RESULT_SLOTS,
  scaleUpResult,
  type SlotResult,
} from '../../../src/workflows/scale-up-result.js';

const joined = (slot: number): SlotResult => ({
  slot,
  outcome: 'joined',
  hostname: `g-${slot + 1}`,
  node: `g-${slot + 1}-0a1b2c3d`,
  vmId: `0123456789abcdef0123456789abcdef-${slot}`,
  readyAfterMs: 2100 + slot,
});
const failed = (slot: number, consoleLines = 50): SlotResult => ({
  slot,
  outcome: 'failed',
  hostname: `g-${slot + 1}`,
  vmId: `0123456789abcdef0123456789abcdef-${slot}`,
  reason: 'NodeNotReadyInTime',
  message: `no Node registered for g-${slot + 1} ${'x'.repeat(990)}`,
  consoleTail: Array.from(
    { length: consoleLines },
    (_, i) => `[ ${i}.000000] k3s-agent: failed to connect ${'.'.repeat(80)}`,
  ).join('\n'),
  vmDeleted: true,
});

describe('scaleUpResult', () => {
  it('keeps every slot of a small scale-up as it was, failures first', () => {
    const fail: SlotResult = { ...failed(0, 3), message: 'no Node registered for g-1' } as SlotResult;
    const r = scaleUpResult('g', 2, [joined(1), fail]);
    expect(r).toEqual({ group: 'g', requested: 2, joined: 1, slots: [fail, joined(1)] });
  });

  it('puts failures first, keeps at most MAX_RESULT_SLOTS and counts the rest', () => {
    const slots = [...Array.from({ length: 48 }, (_, i) => joined(i + 2)), failed(1), failed(0)];
    const r = scaleUpResult('g', 50, slots);
    expect(r.joined).toBe(48);
    expect(r.slots).toHaveLength(MAX_RESULT_SLOTS);
    expect(r.slots.map((s) => [s.slot, s.outcome])).toEqual([
      [0, 'failed'],
      [1, 'failed'],
      [2, 'joined'],
      [3, 'joined'],
      [4, 'joined'],
    ]);
    expect(r.omittedSlots).toBe(45);
  });

  it('keeps one console tail, its end, and bounds the whole result whatever fails', () => {
    const all = Array.from({ length: 50 }, (_, i) => failed(i, 500));
    const r = scaleUpResult('g', 50, all);
    const tails = r.slots.map((s) => (s.outcome === 'failed' ? s.consoleTail : undefined));
    expect(tails.filter((t) => t !== undefined)).toHaveLength(1);
    const full = all[0]!.outcome === 'failed' ? all[0]!.consoleTail! : '';
    expect(tails[0]).toBe(full.slice(-MAX_RESULT_CONSOLE_TAIL));
    for (const s of r.slots)
      if (s.outcome === 'failed') expect(s.message.length).toBeLessThanOrEqual(MAX_RESULT_MESSAGE);
    // 50 failures with 500-line tails were over a megabyte; the result stays a few KB.
    expect(JSON.stringify(all).length).toBeGreaterThan(1_000_000);
    expect(JSON.stringify(r).length).toBeLessThan(5_000);
  });
});
