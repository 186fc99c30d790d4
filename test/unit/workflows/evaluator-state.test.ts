import { describe, expect, it } from 'vitest';
import type { PlanResult } from '../../../src/shared/plan-contract.js';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, EvaluatorState } from '../../../src/workflows/evaluator-state.js';

const T0 = 1_800_000_000_000;

function plan(overrides: Partial<PlanResult> = {}): PlanResult {
  return {
    at: T0,
    scaleUps: [],
    scaleDowns: [],
    timers: { set: {}, cleared: [] },
    totalNodes: 2,
    maxNodesTotal: 0,
    nodeReasons: {},
    groups: { a: { size: 2, ready: 2, min: 1, max: 5, provisionTimeoutMs: 60_000, drainTimeoutMs: 60_000 } },
    nodes: {},
    pods: {},
    pendingPods: 0,
    podReasons: {},
    ...overrides,
  };
}

describe('EvaluatorState', () => {
  it('counts VMs being created as in flight and nodes being removed, for the planner', () => {
    const s = new EvaluatorState();
    s.started('scale-up/a/1', { kind: 'scale-up', group: 'a', count: 3, startedAt: T0, reason: 'r' });
    s.started('scale-down/n1', { kind: 'scale-down', group: 'a', node: 'n1', startedAt: T0, reason: 'r' });
    const req = s.planRequest(T0, 'ev');
    expect(req.inFlight).toEqual({ a: 3 });
    expect(req.nodesBeingRemoved).toEqual(['n1']);
    expect(req.lastScaleUpAt).toBe(T0);
  });

  it('backs a group off exponentially after failed scale-ups, capped, and clears it on success', () => {
    const s = new EvaluatorState();
    const fail = (n: number) => {
      s.started(`up${n}`, { kind: 'scale-up', group: 'a', count: 1, startedAt: T0, reason: '' });
      s.finished(`up${n}`, { kind: 'scale-up', group: 'a', succeeded: false, message: 'NodeNotReadyInTime' }, T0);
    };
    fail(1);
    expect(s.data.backoff['a']).toMatchObject({ until: T0 + BACKOFF_INITIAL_MS, failures: 1 });
    fail(2);
    expect(s.data.backoff['a']!.until).toBe(T0 + 2 * BACKOFF_INITIAL_MS);
    for (let i = 3; i < 10; i++) fail(i);
    expect(s.data.backoff['a']!.until).toBe(T0 + BACKOFF_MAX_MS);
    expect(s.planRequest(T0, 'ev').backoffUntil).toEqual({ a: T0 + BACKOFF_MAX_MS });
    expect(s.planRequest(T0 + BACKOFF_MAX_MS + 1, 'ev').backoffUntil).toEqual({});
    s.started('ok', { kind: 'scale-up', group: 'a', count: 1, startedAt: T0, reason: '' });
    s.finished('ok', { kind: 'scale-up', group: 'a', succeeded: true, message: '' }, T0);
    expect(s.data.backoff['a']).toBeUndefined();
    expect(s.planRequest(T0, 'ev').inFlight).toEqual({});
  });

  it('records scale-down success and failure times for the cooldowns', () => {
    const s = new EvaluatorState();
    s.data.unneededSince['n1'] = T0 - 1000;
    s.started('d1', { kind: 'scale-down', group: 'a', node: 'n1', startedAt: T0, reason: '' });
    s.finished('d1', { kind: 'scale-down', group: 'a', succeeded: true, message: '' }, T0 + 5);
    expect(s.data.lastScaleDownAt).toBe(T0 + 5);
    expect(s.data.unneededSince['n1']).toBeUndefined();
    s.started('d2', { kind: 'scale-down', group: 'a', node: 'n2', startedAt: T0, reason: '' });
    s.finished('d2', { kind: 'scale-down', group: 'a', succeeded: false, message: 'DrainTimeout' }, T0 + 9);
    expect(s.data.lastScaleDownFailureAt).toBe(T0 + 9);
    expect(s.data.recent.map((r) => r.workflowId)).toEqual(['d2', 'd1']);
  });

  it('expires timed pauses and holds, and says when the next one is due', () => {
    const s = new EvaluatorState();
    s.data.paused = { reason: 'maintenance', until: T0 + 100 };
    s.data.holds['n1'] = { reason: 'debugging', until: T0 + 50 };
    s.data.holds['n2'] = { reason: 'forever' };
    expect(s.nextExpiry(T0)).toBe(T0 + 50);
    expect(s.expire(T0 + 60)).toBe(true);
    expect(Object.keys(s.data.holds)).toEqual(['n2']);
    expect(s.data.paused).not.toBeNull();
    s.expire(T0 + 100);
    expect(s.data.paused).toBeNull();
    expect(s.expire(T0 + 200)).toBe(false);
  });

  it('measures a group against max-size with VMs in flight and nodes leaving', () => {
    const s = new EvaluatorState();
    s.planRequest(T0, 'ev');
    s.recordPlan(plan());
    s.started('u', { kind: 'scale-up', group: 'a', count: 2, startedAt: T0, reason: '' });
    s.started('d', { kind: 'scale-down', group: 'a', node: 'n1', startedAt: T0, reason: '' });
    expect(s.groupSize('a')).toBe(2 + 2 - 1);
    expect(s.isBusy('n1')).toBe(true);
    expect(s.isBusy('n2')).toBe(false);
  });

  it('explains pods and nodes from the last plan, and says plainly when it cannot', () => {
    const s = new EvaluatorState();
    expect(s.explain({ pod: 'default/x' })).toMatchObject({ found: false, message: 'no evaluation has run yet' });
    s.recordPlan(
      plan({
        pods: {
          'web/big': {
            kind: 'no-scale-up',
            reason: 'TooBigForEveryTemplate',
            message: 'needs 6 CPU; largest template has 4',
          },
        },
        pendingPods: 1,
        nodes: {
          'a-1-abc': {
            group: 'a',
            hostname: 'a-1',
            verdict: { kind: 'kept', reason: 'NotUnderutilized', message: 'cpu 80%' },
          },
        },
      }),
    );
    expect(s.explain({ pod: 'web/big' })).toMatchObject({ found: true, verdict: { reason: 'TooBigForEveryTemplate' } });
    expect(s.explain({ pod: 'web/other' })).toMatchObject({
      found: false,
      message: expect.stringMatching(/not pending/),
    });
    expect(s.explain({ node: 'a-1-abc' })).toMatchObject({ found: true, verdict: { reason: 'NotUnderutilized' } });
    expect(s.explain({ node: 'control-plane' })).toMatchObject({
      found: false,
      message: expect.stringMatching(/not managed/),
    });
  });

  it('keeps its state plain JSON, so continue-as-new carries it whole', () => {
    const s = new EvaluatorState();
    s.data.holds['n'] = { reason: 'x' };
    s.started('u', { kind: 'scale-up', group: 'a', count: 1, startedAt: T0, reason: '' });
    const copy = new EvaluatorState(JSON.parse(JSON.stringify(s.data)));
    expect(copy.data).toEqual(s.data);
  });
});

describe('EvaluatorState regressions (safety issue)', () => {
  it('never offers a past expiry once a backoff has run out, so the loop does not spin (item 7)', () => {
    const s = new EvaluatorState();
    s.started('up1', { kind: 'scale-up', group: 'a', count: 1, startedAt: T0, reason: '' });
    s.finished('up1', { kind: 'scale-up', group: 'a', succeeded: false, message: 'NodeNotReadyInTime' }, T0);
    const after = T0 + BACKOFF_MAX_MS + 1;
    s.expire(after);
    const next = s.nextExpiry(after);
    expect(next === undefined || next > after).toBe(true);
  });

  it('forgets an operation whose finish arrived before its start was recorded (item 9)', () => {
    const s = new EvaluatorState();
    s.finished('scale-down/n1', { kind: 'scale-down', group: 'a', succeeded: true, message: 'removed' }, T0);
    s.started('scale-down/n1', { kind: 'scale-down', group: 'a', node: 'n1', startedAt: T0, reason: 'r' });
    expect(s.data.operations).toEqual({});
    expect(s.planRequest(T0, 'ev').nodesBeingRemoved).toEqual([]);
  });
});
