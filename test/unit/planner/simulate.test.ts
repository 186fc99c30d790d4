import { describe, expect, it } from 'vitest';
import type { Bin } from '../../../src/planner/cluster.js';
import { DrainSimulator } from '../../../src/planner/scale-down/simulate.js';
import { World } from '../../../src/planner/world.js';
import { bin, pod } from './builders.js';

const simulator = (bins: Map<string, Bin>) => new DrainSimulator(new World([...bins.values()], []));

describe('DrainSimulator', () => {
  it('moves every pod to a node that stays and keeps the room it took', () => {
    const bins = new Map([bin('a', 500), bin('b', 1000), bin('c', 1000)].map((b) => [b.name, b]));
    const sim = simulator(bins);
    const p = pod({ on: 'a', cpu: 800 });
    expect(sim.drain('a', [p])).toEqual({ moves: [{ pod: `default/${p.name}`, to: 'b' }] });
    expect(bins.get('b')!.free.cpuMilli).toBe(200);
    expect(bins.get('a')!.gone).toBe(true);
  });

  it('never lets two drains count on the same free space', () => {
    const bins = new Map([bin('a', 0), bin('b', 0), bin('c', 1000)].map((b) => [b.name, b]));
    const sim = simulator(bins);
    expect(sim.drain('a', [pod({ on: 'a', cpu: 800 })])).toHaveProperty('moves');
    const second = sim.drain('b', [pod({ on: 'b', cpu: 800 })]);
    expect(second).toHaveProperty('stuck');
  });

  it('never moves pods onto a node already drained', () => {
    const bins = new Map([bin('a', 2000), bin('b', 2000)].map((b) => [b.name, b]));
    const sim = simulator(bins);
    expect(sim.drain('a', [])).toEqual({ moves: [] });
    expect(sim.drain('b', [pod({ on: 'b', cpu: 100 })])).toHaveProperty('stuck');
  });

  it('keeps no room from a drain that fails half-way', () => {
    const bins = new Map([bin('a', 0), bin('b', 1000)].map((b) => [b.name, b]));
    const sim = simulator(bins);
    const result = sim.drain('a', [pod({ on: 'a', cpu: 900 }), pod({ on: 'a', cpu: 900 })]);
    expect(result).toHaveProperty('stuck');
    expect(bins.get('b')!.free.cpuMilli).toBe(1000);
    expect(bins.get('a')!.gone).toBe(false);
  });

  it('honours selectors when choosing where pods go', () => {
    const bins = new Map([bin('a', 0), bin('plain', 4000), bin('ssd', 4000, { disk: 'ssd' })].map((b) => [b.name, b]));
    const p = pod({ on: 'a', nodeSelector: { disk: 'ssd' } });
    expect(simulator(bins).drain('a', [p])).toEqual({ moves: [{ pod: `default/${p.name}`, to: 'ssd' }] });
  });
});
