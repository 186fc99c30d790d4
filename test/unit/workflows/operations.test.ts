import { describe, expect, it } from 'vitest';
import { chunks } from '../../../src/workflows/operations.js';
import { MAX_SLOTS_PER_SCALE_UP } from '../../../src/workflows/scale-up.js';

describe('splitting a scale-up (safety issue, item 13)', () => {
  it('turns any count within max-size into scale-ups the workflow accepts', () => {
    for (const count of [1, 49, 50, 51, 120, 1001, 5000]) {
      const parts = chunks(count, MAX_SLOTS_PER_SCALE_UP);
      expect(parts.reduce((a, b) => a + b, 0)).toBe(count);
      expect(parts.every((n) => n >= 1 && n <= MAX_SLOTS_PER_SCALE_UP)).toBe(true);
    }
    expect(chunks(120, 50)).toEqual([50, 50, 20]);
  });
});
