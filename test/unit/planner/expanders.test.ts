import { describe, expect, it } from 'vitest';
import { choose, EXPANDERS, seededFrom, type ExpansionOption } from '../../../src/planner/expanders.js';
import { group } from './builders.js';

const option = (name: string, o: Partial<ExpansionOption> = {}, priority = 0): ExpansionOption => ({
  group: group({ name, priority }),
  nodeCount: 1,
  podCount: 1,
  cpuUsed: 0.5,
  memoryUsed: 0.5,
  ...o,
});
const never = () => {
  throw new Error('only random may draw');
};

describe('expanders', () => {
  const options = [
    option('wasteful', { cpuUsed: 0.2, memoryUsed: 0.2, podCount: 9 }, 1),
    option('snug', { cpuUsed: 0.9, memoryUsed: 0.8, podCount: 3 }, 0),
    option('favoured', { cpuUsed: 0.5, memoryUsed: 0.5, podCount: 3 }, 5),
  ];

  it.each([
    ['least-waste', 'snug'],
    ['most-pods', 'wasteful'],
    ['priority', 'favoured'],
  ])('%s picks %s', (name, want) => {
    expect(choose(name, options, never)?.group.name).toBe(want);
  });

  it('a chain narrows step by step: priority first, then least-waste among the tied', () => {
    const tied = [
      option('p5-loose', { cpuUsed: 0.1, memoryUsed: 0.1 }, 5),
      option('p5-snug', { cpuUsed: 0.9, memoryUsed: 0.9 }, 5),
      option('p1-snugger', { cpuUsed: 1, memoryUsed: 1 }, 1),
    ];
    expect(choose('priority,least-waste', tied, never)?.group.name).toBe('p5-snug');
    expect(choose('least-waste', tied, never)?.group.name).toBe('p1-snugger');
  });

  it('gives a final tie to the group with the fewest nodes, without drawing', () => {
    const sizes: Record<string, number> = { a: 3, b: 1, c: 2 };
    const pick = choose('most-pods', [option('a'), option('b'), option('c')], never, (g) => sizes[g.name]!);
    expect(pick?.group.name).toBe('b');
  });

  it('draws among groups tied on size too, reproducibly for a seed, and every one gets its turn', () => {
    const tied = () => [option('b'), option('a'), option('c')];
    const pick = (seed: number) => choose('least-waste', tied(), seededFrom(seed, 0))?.group.name;
    expect(pick(11)).toBe(pick(11));
    expect(new Set(Array.from({ length: 40 }, (_, i) => pick(i)))).toEqual(new Set(['a', 'b', 'c']));
    // The configured order does not matter, only the seed.
    const reversed = choose('least-waste', tied().reverse(), seededFrom(11, 0))?.group.name;
    expect(reversed).toBe(pick(11));
  });

  it('random follows the seeded generator', () => {
    const many = Array.from({ length: 8 }, (_, i) => option(`g${i}`));
    const pick = (seed: number) => choose('random', many, seededFrom(seed, 0))?.group.name;
    expect(pick(7)).toBe(pick(7));
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map(pick)).size).toBeGreaterThan(1);
  });

  it('refuses an unknown name rather than guessing', () => {
    expect(() => choose('cheapest', [option('a'), option('b')], never)).toThrow(/unknown expander 'cheapest'/);
  });

  it('has the four expanders cluster-autoscaler users rely on', () => {
    expect(Object.keys(EXPANDERS).sort()).toEqual(['least-waste', 'most-pods', 'priority', 'random']);
  });
});

describe('seededFrom', () => {
  it('gives the same sequence for the same seed and time, within [0, 1)', () => {
    const a = seededFrom(42, 1_000);
    const b = seededFrom(42, 1_000);
    const xs = Array.from({ length: 20 }, () => a());
    expect(xs).toEqual(Array.from({ length: 20 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededFrom(43, 1_000)()).not.toBe(xs[0]);
  });
});
