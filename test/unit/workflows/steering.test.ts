import { describe, expect, it } from 'vitest';
import type { PlanResult } from '../../../src/shared/plan-contract.js';
import { EvaluatorState } from '../../../src/workflows/evaluator-state.js';
import { limitBreach, overrideSteps } from '../../../src/workflows/steering.js';

const T0 = 1_800_000_000_000;
const view = { size: 3, ready: 3, min: 1, max: 5, provisionTimeoutMs: 60_000, drainTimeoutMs: 30_000 };

function plan(groups: PlanResult['groups'] = { a: view }): PlanResult {
  return {
    at: T0,
    scaleUps: [],
    scaleDowns: [],
    timers: { set: {}, cleared: [] },
    groups,
    totalNodes: 3,
    maxNodesTotal: 0,
    nodes: {},
    nodeReasons: {},
    pods: {},
    pendingPods: 0,
    podReasons: {},
  };
}

describe('size overrides', () => {
  it('scales a pinned group down to its size (the evaluator picks the nodes)', () => {
    const s = new EvaluatorState();
    s.recordPlan(plan());
    s.data.overrides = { a: { size: 1, until: T0 + 1000, reason: 'night' } };
    const steps = overrideSteps(s.data, s.lastPlan!, T0, (g) => s.groupSize(g));
    expect(steps).toEqual([
      { kind: 'down', group: 'a', count: 2, reason: 'size override: night', drainTimeoutMs: 30_000, skip: [] },
    ]);
  });

  it('scales up to the pinned size, counting VMs already being created', () => {
    const s = new EvaluatorState();
    s.recordPlan(plan());
    s.started('scale-up/a/1', { kind: 'scale-up', group: 'a', count: 1, startedAt: T0, reason: '' });
    s.data.overrides = { a: { size: 5, until: T0 + 1000, reason: 'business hours' } };
    expect(overrideSteps(s.data, s.lastPlan!, T0, (g) => s.groupSize(g))).toEqual([
      { kind: 'up', up: { group: 'a', count: 1, reason: 'size override: business hours', provisionTimeoutMs: 60_000 } },
    ]);
  });

  it('does nothing once the group is at its size', () => {
    const s = new EvaluatorState();
    s.recordPlan(plan());
    s.data.overrides = { a: { size: 3, until: T0 + 1000, reason: 'r' } };
    expect(overrideSteps(s.data, s.lastPlan!, T0, (g) => s.groupSize(g))).toEqual([]);
  });

  it('refuses an override the limits no longer allow (the config changed after it was accepted)', () => {
    const s = new EvaluatorState();
    s.recordPlan(plan({ a: { ...view, min: 2 } }));
    s.data.overrides = { a: { size: 0, until: T0 + 1000, reason: 'r' } };
    expect(overrideSteps(s.data, s.lastPlan!, T0, (g) => s.groupSize(g))).toEqual([
      { kind: 'refused', group: 'a', message: 'size override a to 0 refused: min-size is 2' },
    ]);
  });

  it('names the nodes whose override drain rolled back a moment ago, so they are not tried again yet', () => {
    const s = new EvaluatorState();
    s.recordPlan(plan());
    s.started('scale-down/n1', { kind: 'scale-down', group: 'a', node: 'n1', startedAt: T0, reason: '' });
    s.finished('scale-down/n1', { kind: 'scale-down', group: 'a', succeeded: false, message: 'DrainTimeout' }, T0);
    s.data.overrides = { a: { size: 2, until: T0 + 3_600_000, reason: 'r' } };
    const soon = overrideSteps(s.data, s.lastPlan!, T0 + 1000, (g) => s.groupSize(g));
    expect(soon.map((x) => x.kind === 'down' && x.skip)).toEqual([['scale-down/n1']]);
    const later = overrideSteps(s.data, s.lastPlan!, T0 + 10 * 60_000, (g) => s.groupSize(g));
    expect(later.map((x) => x.kind === 'down' && x.skip)).toEqual([[]]);
  });

  it('hides a pinned group from the planner and ends the pin when its window is over', () => {
    const s = new EvaluatorState();
    s.data.overrides = { a: { size: 0, until: T0 + 1000, reason: 'r' } };
    s.data.pausedGroups['b'] = { reason: 'p' };
    expect(s.planRequest(T0, 'autoscaler/c').pausedGroups.sort()).toEqual(['a', 'b']);
    expect(s.nextExpiry(T0)).toBe(T0 + 1000);
    expect(s.expire(T0 + 999)).toBe(false);
    expect(s.expire(T0 + 1000)).toBe(true);
    expect(s.planRequest(T0, 'autoscaler/c').pausedGroups).toEqual(['b']);
    expect(s.status().overrides).toEqual({});
  });

  it('states limit breaches the way the operator CLI does', () => {
    expect(limitBreach('a', 6, view)).toBe('a to 6 refused: max-size is 5');
    expect(limitBreach('a', 0, view)).toBe('a to 0 refused: min-size is 1');
    expect(limitBreach('a', 3, view)).toBeUndefined();
    expect(limitBreach('zz', 1, undefined)).toBe("unknown node group 'zz'");
  });
});
