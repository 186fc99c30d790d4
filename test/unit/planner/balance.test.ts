import { describe, expect, it } from 'vitest';
import { balance, similar } from '../../../src/planner/balance.js';
import type { ExpansionOption } from '../../../src/planner/expanders.js';
import type { GroupInfo } from '../../../src/planner/types.js';
import { group } from './builders.js';

describe('similar', () => {
  const base = group({ name: 'host-a' });
  it.each([
    ['same template on another host', group({ name: 'host-b' }), true],
    ['another arch', group({ name: 'host-b', arch: 'arm64' }), false],
    ['more cpu', group({ name: 'host-b', cpu: 4 }), false],
    [
      'a taint',
      group({
        name: 'host-b',
        template: { ...base.template, taints: [{ key: 'gpu', effect: 'NoSchedule' }] },
      }),
      false,
    ],
    ['another label', group({ name: 'host-b', template: { ...base.template, labels: { tier: 'db' } } }), false],
  ])('%s: %s', (_name, other, want) => {
    expect(similar(base, other)).toBe(want);
  });
});

describe('balance', () => {
  const a = group({ name: 'a' });
  const b = group({ name: 'b' });
  const c = group({ name: 'c', maxSize: 1 });
  const pick = (nodeCount: number): ExpansionOption => ({
    group: a,
    nodeCount,
    podCount: nodeCount,
    cpuUsed: 1,
    memoryUsed: 1,
  });
  const room = (g: GroupInfo) => g.maxSize;
  const counts = (r: [GroupInfo, number][]) => Object.fromEntries(r.map(([g, n]) => [g.name, n]));

  it('spreads new nodes evenly when the groups are the same size', () => {
    expect(counts(balance(pick(4), [b], true, { a: 0, b: 0 }, room, () => 0.5))).toEqual({ a: 2, b: 2 });
  });

  it('fills the smaller group first', () => {
    expect(counts(balance(pick(4), [b], true, { a: 3, b: 0 }, room, () => 0.5))).toEqual({ a: 1, b: 3 });
  });

  it('stays within each group room', () => {
    expect(counts(balance(pick(4), [c], true, { a: 0, c: 0 }, room, () => 0.5))).toEqual({ a: 3, c: 1 });
  });

  it('leaves the pick alone when balancing is off', () => {
    expect(counts(balance(pick(4), [b], false, { a: 0, b: 0 }, room, () => 0.5))).toEqual({ a: 4 });
  });
});
