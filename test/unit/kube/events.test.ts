import { describe, expect, it, vi } from 'vitest';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { PlanResult } from '../../../src/shared/plan-contract.js';
import {
  EVENT_LIMITS,
  EventPublisher,
  nodeEvent,
  planEvents,
  podEvent,
  scaleDownEmptyEvent,
  scaleDownFailedEvent,
  scaledUpGroupEvent,
  type EventSpec,
} from '../../../src/kube/events.js';

const plan: PlanResult = {
  at: 0,
  scaleUps: [{ group: 'x86', count: 2, reason: '5 pods', provisionTimeoutMs: 1 }],
  scaleDowns: [],
  timers: { set: {}, cleared: [] },
  totalNodes: 0,
  maxNodesTotal: 0,
  nodeReasons: {},
  groups: { x86: { size: 3, ready: 2, min: 1, max: 8, provisionTimeoutMs: 1, drainTimeoutMs: 1 } },
  nodes: {
    'x86-1-aa': {
      group: 'x86',
      hostname: 'x86-1',
      verdict: { kind: 'removable', reason: 'Underutilized', message: 'cpu 10%' },
    },
    'x86-2-bb': {
      group: 'x86',
      hostname: 'x86-2',
      verdict: { kind: 'kept', reason: 'NotUnderutilized', message: 'cpu 90%' },
    },
    'x86-3-cc': {
      group: 'x86',
      hostname: 'x86-3',
      verdict: { kind: 'kept', reason: 'BlockedByPod', message: 'web/db has local storage' },
    },
  },
  pods: {
    'web/a': { kind: 'scale-up', reason: 'ScaleUp', message: 'fits x86 template', group: 'x86' },
    'web/huge': {
      kind: 'no-scale-up',
      reason: 'TooBigForEveryTemplate',
      message: 'needs 64 CPU; largest template has 4',
    },
  },
  pendingPods: 2,
  podReasons: { ScaleUp: 1, TooBigForEveryTemplate: 1 },
};

describe('decision events', () => {
  it("use cluster-autoscaler's reasons for pods", () => {
    expect(podEvent('web/a', plan.pods['web/a']!)).toMatchObject({
      reason: 'TriggeredScaleUp',
      namespace: 'web',
      name: 'a',
    });
    expect(podEvent('web/huge', plan.pods['web/huge']!)).toMatchObject({
      reason: 'NotTriggerScaleUp',
      message: expect.stringMatching(/TooBigForEveryTemplate/),
    });
  });

  it('tell about removals and blocks, not about busy nodes', () => {
    expect(nodeEvent('x86-1-aa', plan.nodes['x86-1-aa']!.verdict)?.reason).toBe('ScaleDown');
    expect(nodeEvent('x86-2-bb', plan.nodes['x86-2-bb']!.verdict)).toBeUndefined();
    expect(nodeEvent('x86-3-cc', plan.nodes['x86-3-cc']!.verdict)?.reason).toBe('ScaleDownBlocked');
    expect(planEvents(plan)).toHaveLength(4);
  });

  it('word ScaledUpGroup, ScaleDownEmpty (on the status ConfigMap) and ScaleDownFailed (on the node) as CA does', () => {
    const status = { namespace: 'kube-system', name: 'cluster-autoscaler-status' };
    expect(scaledUpGroupEvent(status, { group: 'x86', from: 1, to: 3, max: 8 })).toMatchObject({
      kind: 'ConfigMap',
      namespace: 'kube-system',
      type: 'Normal',
      reason: 'ScaledUpGroup',
      message: 'Scale-up: setting group x86 size to 3 instead of 1 (max: 8)',
    });
    expect(scaleDownEmptyEvent(status, 'x86-1-aa')).toMatchObject({
      reason: 'ScaleDownEmpty',
      message: 'Scale-down: removing empty node "x86-1-aa"',
    });
    expect(scaleDownFailedEvent('x86-1-aa', 'drain', 'DrainTimeout: web/db still there')).toMatchObject({
      kind: 'Node',
      type: 'Warning',
      reason: 'ScaleDownFailed',
      message: 'failed to drain and delete node: DrainTimeout: web/db still there',
    });
  });
});

/** An apiserver double that records event bodies; `fail` refuses the next calls. */
function fakeCore() {
  const bodies: CoreV1Event[] = [];
  let failNext = 0;
  const create = vi.fn(async ({ body }: { body: CoreV1Event }) => {
    if (failNext > 0) {
      failNext -= 1;
      throw new Error('forbidden');
    }
    bodies.push(body);
    return body;
  });
  return {
    core: { createNamespacedEvent: create } as unknown as CoreV1Api,
    bodies,
    create,
    fail: (n: number) => (failNext = n),
  };
}

const uidOf = (e: EventSpec) => ({ uid: `uid-of-${e.name}`, resourceVersion: '42' });

describe('event publisher', () => {
  it('enqueue returns at once and sends later, with the object UID kubectl describe selects by', async () => {
    const { core, bodies, create } = fakeCore();
    const p = new EventPublisher(core, { resolve: uidOf });
    p.enqueue(planEvents(plan));
    expect(create).not.toHaveBeenCalled();
    expect(await p.flush()).toBe(4);
    const pod = bodies.find((b) => b.involvedObject.name === 'a')!;
    expect(pod.involvedObject).toMatchObject({ kind: 'Pod', namespace: 'web', uid: 'uid-of-a', resourceVersion: '42' });
    const node = bodies.find((b) => b.involvedObject.name === 'x86-1-aa')!;
    expect(node.involvedObject).toMatchObject({ kind: 'Node', uid: 'uid-of-x86-1-aa' });
    expect(node.involvedObject.namespace).toBeUndefined();
    expect(node.metadata?.namespace).toBe('default');
  });

  it('sends each distinct event once per remember window; a refused one is sent again when repeated', async () => {
    let now = 1_000_000;
    const { core, create, fail } = fakeCore();
    const results: string[] = [];
    const p = new EventPublisher(core, { resolve: uidOf, now: () => now, onResult: (r) => results.push(r) });
    const events = planEvents(plan).slice(0, 2);
    fail(1);
    p.enqueue(events);
    expect(await p.flush()).toBe(1);
    p.enqueue(events); // the refused one is queued again, the sent one is a duplicate
    expect(await p.flush()).toBe(1);
    p.enqueue(events);
    expect(await p.flush()).toBe(0);
    expect(create).toHaveBeenCalledTimes(3);
    expect(results.filter((r) => r === 'deduplicated')).toHaveLength(3);
    now += EVENT_LIMITS.rememberMs;
    p.enqueue(events);
    expect(await p.flush()).toBe(2);
  });

  it('drops an event whose object is gone', async () => {
    const { core, create } = fakeCore();
    const results: string[] = [];
    const p = new EventPublisher(core, { resolve: () => undefined, onResult: (r) => results.push(r) });
    p.enqueue(planEvents(plan));
    expect(await p.flush()).toBe(0);
    expect(create).not.toHaveBeenCalled();
    expect(results).toEqual(['unresolved', 'unresolved', 'unresolved', 'unresolved']);
  });

  it('sends no more than the token bucket allows, then catches up as time passes', async () => {
    let now = 0;
    const { core } = fakeCore();
    const p = new EventPublisher(core, {
      resolve: uidOf,
      now: () => now,
      limits: { burst: 5, perSecond: 2 },
    });
    const many = Array.from({ length: 20 }, (_, i): EventSpec => ({
      kind: 'Pod',
      namespace: 'web',
      name: `p${i}`,
      type: 'Normal',
      reason: 'TriggeredScaleUp',
      message: 'x',
    }));
    p.enqueue(many);
    expect(await p.flush()).toBe(5);
    expect(await p.flush()).toBe(0);
    now += 1500;
    expect(await p.flush()).toBe(3);
    expect(p.sizes().queued).toBe(12);
  });

  it('bounds the queue and the memory of sent events', async () => {
    const { core } = fakeCore();
    const results: string[] = [];
    const p = new EventPublisher(core, {
      resolve: uidOf,
      onResult: (r) => results.push(r),
      limits: { maxQueued: 10, maxRemembered: 7, burst: 100 },
    });
    const spec = (i: number): EventSpec => ({
      kind: 'Pod',
      namespace: 'web',
      name: `p${i}`,
      type: 'Normal',
      reason: 'NotTriggerScaleUp',
      message: 'no',
    });
    p.enqueue(Array.from({ length: 15 }, (_, i) => spec(i)));
    expect(results.filter((r) => r === 'dropped')).toHaveLength(5);
    expect(p.sizes().queued).toBe(10);
    await p.flush();
    expect(p.sizes()).toEqual({ queued: 0, remembered: 7 });
    // The least recently sent were forgotten: p0 goes out again, p9 is still a duplicate.
    p.enqueue([spec(0), spec(9)]);
    expect(p.sizes().queued).toBe(1);
  });
});
