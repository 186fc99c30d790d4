import { describe, expect, it } from 'vitest';
import { TimerStore } from '../../../src/activities/timer-store.js';

describe('TimerStore (unneeded-since timers by reference)', () => {
  it('answers a reference it holds, and nothing for a version, epoch or evaluator it does not', () => {
    const store = new TimerStore();
    const held = { a: 1 };
    store.store('ev', { epoch: 'e1', version: 4 }, held, { set: { b: 2 }, cleared: [] }, { a: 1, b: 2 });
    expect(store.resolve('ev', { epoch: 'e1', version: 5 })).toEqual({ truth: { a: 1, b: 2 }, held: { a: 1, b: 2 } });
    expect(store.resolve('ev', { epoch: 'e1', version: 4 })).toBeUndefined();
    expect(store.resolve('ev', { epoch: 'e2', version: 5 })).toBeUndefined();
    expect(store.resolve('other', { epoch: 'e1', version: 5 })).toBeUndefined();
    expect(store.resolve('other', { epoch: 'x', version: 0, full: { z: 9 } })).toEqual({
      truth: { z: 9 },
      held: { z: 9 },
    });
  });

  it('caps a delta, clearing first, and sends what it left out in the next delta until the copies agree', () => {
    const store = new TimerStore();
    const before: Record<string, number> = { gone1: 1, gone2: 1 };
    const after: Record<string, number> = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`n${i}`, 10]));
    const first = store.delta(before, after, 3);
    expect(first.cleared).toEqual(['gone1', 'gone2']);
    expect(Object.keys(first.set)).toEqual(['n0']);
    store.store('ev', { epoch: 'e', version: 0 }, before, first, after);
    // The evaluator applies the delta; its copy lags the truth by four entries.
    const next = store.resolve('ev', { epoch: 'e', version: 1 })!;
    expect(next.held).toEqual({ n0: 10 });
    expect(next.truth).toEqual(after);
    const second = store.delta(next.held, after, 3);
    expect(Object.keys(second.set)).toEqual(['n1', 'n2', 'n3']);
    store.store('ev', { epoch: 'e', version: 1 }, next.held, second, after);
    const third = store.delta(store.resolve('ev', { epoch: 'e', version: 2 })!.held, after, 3);
    expect(third).toEqual({ set: { n4: 10 }, cleared: [] });
  });

  it('forgets the oldest evaluators beyond its bound', () => {
    const store = new TimerStore();
    for (let i = 0; i < 20; i++) store.store(`ev${i}`, { epoch: 'e', version: 0 }, {}, { set: {}, cleared: [] }, {});
    expect(store.resolve('ev0', { epoch: 'e', version: 1 })).toBeUndefined();
    expect(store.resolve('ev19', { epoch: 'e', version: 1 })).toBeDefined();
  });
});
