import { describe, expect, it } from 'vitest';
import { skewFromDateHeader } from '../../../src/shared/clock-skew.js';

describe('skewFromDateHeader', () => {
  const sent = 1_000_000_500; // half a second into a wall-clock second
  it('answers 0 for an in-step clock, whatever part of the second the header was cut at', () => {
    // The header of an in-step host reads the whole second the answer was written in: 500 ms behind here.
    expect(skewFromDateHeader(1_000_000_000, sent, sent + 20)).toBe(0);
    expect(skewFromDateHeader(1_000_000_000, sent + 480, sent + 499)).toBe(0);
  });
  it('answers the smallest skew the header proves for a clock ahead or behind', () => {
    expect(skewFromDateHeader(1_000_005_000, sent, sent + 20)).toBe(5_000 - 520);
    expect(skewFromDateHeader(999_997_000, sent, sent + 20)).toBe(-3_000 + 1_000 - 500);
  });
  it('answers 0 without a date', () => {
    expect(skewFromDateHeader(Number.NaN, sent, sent)).toBe(0);
  });
});
