import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { ActivityFailure, ApplicationFailure, CancelledFailure, RetryState } from '@temporalio/common';
import { failedScaleUpReason, scaleDownReasonFromText } from '../../../src/metrics/observer.js';
import { MAX_TRACKED_PODS, ReactionTracker } from '../../../src/metrics/reaction.js';
import { describeError, describeResult, describeStart } from '../../../src/metrics/workflow-interceptors.js';
import { plan } from '../../../src/planner/index.js';
import { MIN, NOW, group, input, node, pod } from '../planner/builders.js';

describe('operation outcomes from workflow results', () => {
  const up = describeStart('scale-up', { group: 'x86', count: 3, reason: 'x'.repeat(1000), provisionTimeoutMs: 1 });

  it('reads the start defensively and cuts long reasons', () => {
    expect(up).toEqual({ kind: 'scale-up', group: 'x86', count: 3, reason: 'x'.repeat(300) });
    expect(describeStart('scale-down', null)).toEqual({ kind: 'scale-down' });
  });

  it('scale-up: succeeded, partial or failed by joined/requested, with the first failed slot as the reason', () => {
    expect(describeResult(up, { requested: 3, joined: 3, slots: [] }).outcome).toBe('succeeded');
    const partial = describeResult(up, {
      requested: 3,
      joined: 2,
      slots: [
        { outcome: 'joined' },
        { outcome: 'failed', reason: 'NodeNotReadyInTime', message: 'VM x86-3 did not become Ready' },
      ],
    });
    expect(partial).toMatchObject({ outcome: 'partial', failureType: 'NodeNotReadyInTime', joined: 2 });
    expect(describeResult(up, { requested: 3, joined: 0, slots: [] }).outcome).toBe('failed');
  });

  it('scale-down: the workflow outcome, and the rollback reason', () => {
    const down = describeStart('scale-down', { node: 'n1', group: 'x86', reason: 'empty; requests 0%' });
    expect(describeResult(down, { outcome: 'removed', node: 'n1' }).outcome).toBe('removed');
    expect(
      describeResult(down, { outcome: 'rolled-back', node: 'n1', reason: 'DrainTimeout', message: 'm' }),
    ).toMatchObject({ outcome: 'rolled-back', failureType: 'DrainTimeout', message: 'm' });
  });

  it('errors: the ApplicationFailure type behind an activity failure; cancellation apart', () => {
    const inner = ApplicationFailure.nonRetryable('labels do not match', 'NodeIdentityMismatch');
    const failure = new ActivityFailure(
      'taint failed',
      'taintAndCordon',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      'w',
      inner,
    );
    expect(describeError({ kind: 'scale-down', node: 'n1' }, failure)).toMatchObject({
      outcome: 'error',
      failureType: 'NodeIdentityMismatch',
      message: 'labels do not match',
    });
    expect(describeError({ kind: 'scale-up' }, new CancelledFailure('cancelled')).outcome).toBe('cancelled');
  });

  it("maps failure types on cluster-autoscaler's failed scale-up reasons", () => {
    expect(failedScaleUpReason('NodeNotReadyInTime')).toBe('timeout');
    expect(failedScaleUpReason('SlicerFinal')).toBe('cloudProviderError');
    expect(failedScaleUpReason('Error')).toBe('apiCallError');
  });
});

describe("scale-down reasons from the planner's own words", () => {
  // If the planner's wording changes, the metric's fallback must change with it: this runs the real planner.
  const g = group({ name: 'x86' });
  const a = node({ name: 'x86-1-aaaaaaaa', group: 'x86' });
  const b = node({ name: 'x86-2-bbbbbbbb', group: 'x86' });
  const longAgo = { unneededSince: { [a.name]: NOW - 30 * MIN, [b.name]: NOW - 30 * MIN } };

  it('empty, underutilized and unready', () => {
    const empty = plan(input({ groups: [g], nodes: [a, b], pods: [pod({ on: b.name, cpu: 200 })], state: longAgo }));
    expect(scaleDownReasonFromText(empty.scaleDowns.find((d) => d.node === a.name)!.reason)).toBe('empty');
    const busy = plan(
      input({
        groups: [g],
        nodes: [a, b],
        pods: [pod({ on: a.name, cpu: 300 }), pod({ on: b.name, cpu: 900 })],
        state: longAgo,
      }),
    );
    expect(scaleDownReasonFromText(busy.scaleDowns[0]!.reason)).toBe('underutilized');
    const sick = node({ name: 'x86-3-cccccccc', group: 'x86', ready: false, notReadySince: NOW - 30 * MIN });
    const unready = plan(
      input({
        groups: [g],
        nodes: [sick, b],
        pods: [pod({ on: sick.name, cpu: 100 }), pod({ on: b.name, cpu: 100 })],
        state: longAgo,
        options: { scaleDownUnreadyTimeMs: MIN },
      }),
    );
    expect(scaleDownReasonFromText(unready.scaleDowns.find((d) => d.node === sick.name)!.reason)).toBe('unready');
  });
});

describe('reaction tracker', () => {
  const unschedulable = (name: string, nodeName?: string): V1Pod => ({
    metadata: { name, namespace: 'web' },
    spec: { containers: [], ...(nodeName && { nodeName }) },
    status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
  });
  const change = (verb: 'add' | 'update' | 'delete', pod: V1Pod) => ({
    kind: 'pod' as const,
    verb,
    key: `web/${pod.metadata!.name}`,
    object: pod,
  });

  it('measures from first seeing a pod Unschedulable to a VM of its planned group, oldest pod first', () => {
    let now = 1000;
    const t = new ReactionTracker(() => now);
    t.onChange(change('add', unschedulable('a')));
    now = 1200;
    t.onChange(change('add', unschedulable('b')));
    t.onChange(change('update', unschedulable('a'))); // seen again: keeps the first time
    expect(t.vmCreated('x86')).toBeUndefined(); // no plan chose x86 for them yet
    t.planned([
      { key: 'web/a', group: 'x86' },
      { key: 'web/b', group: 'x86' },
    ]);
    now = 1700;
    expect(t.vmCreated('arm')).toBeUndefined();
    expect(t.vmCreated('x86')).toBeCloseTo(0.7);
    expect(t.vmCreated('x86')).toBeCloseTo(0.5);
    expect(t.vmCreated('x86')).toBeUndefined();
  });

  it('forgets pods that got scheduled or went away, and stays bounded', () => {
    const t = new ReactionTracker(() => 0);
    t.onChange(change('add', unschedulable('a')));
    t.onChange(change('update', unschedulable('a', 'node-1')));
    t.onChange(change('add', unschedulable('b')));
    t.onChange(change('delete', unschedulable('b')));
    expect(t.size()).toBe(0);
    for (let i = 0; i < MAX_TRACKED_PODS + 50; i++) t.onChange(change('add', unschedulable(`p${i}`)));
    expect(t.size()).toBe(MAX_TRACKED_PODS);
  });
});
