import { describe, expect, it } from 'vitest';
import { scaleDownGate } from '../../../src/planner/scale-down/gates.js';
import { MIN, NOW, input, node } from './builders.js';

describe('scaleDownGate', () => {
  it.each([
    ['nothing in the way', {}, {}, undefined],
    ['paused', { paused: true }, {}, 'Paused'],
    ['disabled', {}, { scaleDownEnabled: false }, 'ScaleDownDisabled'],
    ['10m after a scale-up, at 9m', { lastScaleUpAt: NOW - 9 * MIN }, {}, 'ScaleDownInCooldown'],
    ['10m after a scale-up, at 10m', { lastScaleUpAt: NOW - 10 * MIN }, {}, undefined],
    ['0s after a scale-down by default', { lastScaleDownAt: NOW }, {}, undefined],
    [
      'a configured delay after a scale-down',
      { lastScaleDownAt: NOW - MIN },
      { scaleDownDelayAfterDeleteMs: 2 * MIN },
      'ScaleDownInCooldown',
    ],
    ['3m after a failure, at 2m', { lastScaleDownFailureAt: NOW - 2 * MIN }, {}, 'ScaleDownInCooldown'],
  ])('%s', (_name, state, options, reason) => {
    expect(scaleDownGate(input({ state, options }))?.reason).toBe(reason);
  });

  it('says how long a cooldown has left', () => {
    expect(scaleDownGate(input({ state: { lastScaleUpAt: NOW - 7 * MIN } }))?.message).toBe(
      'scale-down waits 3m00s more after a scale-up',
    );
  });

  it.each([
    [4, 4, 'TooManyUnreadyNodes'],
    [4, 5, undefined],
    [3, 0, undefined],
  ])('%i unready and %i ready nodes: %s', (unready, ready, reason) => {
    const nodes = [
      ...Array.from({ length: unready }, (_, i) => node({ name: `u${i}`, ready: false })),
      ...Array.from({ length: ready }, (_, i) => node({ name: `r${i}` })),
    ];
    expect(scaleDownGate(input({ nodes }))?.reason).toBe(reason);
  });
});
