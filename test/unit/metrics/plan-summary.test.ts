import { describe, expect, it } from 'vitest';
import type { PlanRequest, PlanResult } from '../../../src/shared/plan-contract.js';
import { isHealthy, summarizePlan } from '../../../src/metrics/plan-summary.js';
import { DEFAULT_PLANNER_OPTIONS } from '../../../src/planner/index.js';
import { MIN, NOW, node } from '../planner/builders.js';

const req = (o: Partial<PlanRequest> = {}): PlanRequest => ({
  evaluatorId: 'autoscaler/unit',
  timers: { epoch: 'e', version: 0 },
  paused: false,
  pausedGroups: [],
  backoffUntil: {},
  inFlight: {},
  nodesBeingRemoved: [],
  held: [],
  ...o,
});

const group = (o: Partial<PlanResult['groups'][string]> = {}) => ({
  size: 0,
  ready: 0,
  min: 0,
  max: 5,
  provisionTimeoutMs: 5 * MIN,
  drainTimeoutMs: 10 * MIN,
  ...o,
});

const result = (o: Partial<PlanResult> = {}): PlanResult => ({
  at: NOW,
  scaleUps: [],
  scaleDowns: [],
  timers: { set: {}, cleared: [] },
  totalNodes: 0,
  maxNodesTotal: 0,
  nodeReasons: {},
  groups: { x86: group(), arm: group() },
  nodes: {},
  pods: {},
  pendingPods: 0,
  podReasons: {},
  ...o,
});

const thresholds = DEFAULT_PLANNER_OPTIONS;

describe('plan summary in cluster-autoscaler terms', () => {
  it('counts ready, not-started (young, or Ready with the not-ready taint), unready, being deleted and unregistered', () => {
    const nodes = [
      node({ name: 'x86-1-aaaaaaaa', group: 'x86' }),
      node({
        name: 'x86-2-bbbbbbbb',
        group: 'x86',
        createdAt: NOW - 1000,
        startupTainted: true,
      }),
      node({ name: 'x86-3-cccccccc', group: 'x86', ready: false }),
      node({
        name: 'x86-4-dddddddd',
        group: 'x86',
        taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }],
      }),
      node({ name: 'control-plane' }),
    ];
    const s = summarizePlan({
      req: req({ inFlight: { x86: 2 } }),
      result: result(),
      nodes,
      schedulerUnprocessed: 1,
      thresholds,
    });
    expect(s.counts).toEqual({
      total: 5,
      ready: 3,
      notStarted: 1,
      unready: 1,
      beingDeleted: 1,
      unregistered: 2,
      longUnregistered: 0,
    });
    const x86 = s.groups.find((g) => g.name === 'x86')!;
    expect(x86.counts.total).toBe(4);
    // 4 registered - 1 being deleted + 2 in flight.
    expect(x86.target).toBe(5);
    expect(x86.scaleUp).toBe('InProgress');
    expect(s.scaleUp).toBe('InProgress');
    expect(s.schedulerUnprocessed).toBe(1);
  });

  it('says Backoff while a group is backed off, Needed when a scale-up is planned, NoActivity otherwise', () => {
    const s = summarizePlan({
      req: req({ backoffUntil: { x86: NOW + MIN, arm: NOW - 1 } }),
      result: result({ scaleUps: [{ group: 'arm', count: 1, reason: 'r', provisionTimeoutMs: 1 }] }),
      nodes: [],
      schedulerUnprocessed: 0,
      thresholds,
    });
    expect(s.groups.map((g) => [g.name, g.scaleUp, g.backoffUntil])).toEqual([
      ['x86', 'Backoff', NOW + MIN],
      ['arm', 'Needed', undefined],
    ]);
    expect(s.scaleUp).toBe('Needed');
  });

  it('counts unneeded and removable nodes as scale-down candidates per group', () => {
    const s = summarizePlan({
      req: req(),
      result: result({
        nodes: {
          a: { group: 'x86', hostname: 'a', verdict: { kind: 'unneeded', reason: 'r', message: 'm' } },
          b: { group: 'x86', hostname: 'b', verdict: { kind: 'removable', reason: 'r', message: 'm' } },
          c: { group: 'arm', hostname: 'c', verdict: { kind: 'kept', reason: 'r', message: 'm' } },
        },
      }),
      nodes: [],
      schedulerUnprocessed: 0,
      thresholds,
    });
    expect(s.scaleDownCandidates).toBe(2);
    expect(s.groups.map((g) => g.scaleDownCandidates)).toEqual([2, 0]);
  });

  it("is unhealthy only above both of cluster-autoscaler's unready limits (3 nodes and 45 %)", () => {
    const c = (unready: number, total: number) => ({
      total,
      unready,
      ready: total - unready,
      notStarted: 0,
      beingDeleted: 0,
      unregistered: 0,
      longUnregistered: 0,
    });
    expect(isHealthy(c(3, 4), thresholds)).toBe(true);
    expect(isHealthy(c(4, 10), thresholds)).toBe(true);
    expect(isHealthy(c(5, 10), thresholds)).toBe(false);
  });
});
