import type { CoreV1Api, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  annotationPatches,
  MAX_PATCHES_PER_BATCH,
  ReasonAnnotations,
  SCALE_DOWN_ANNOTATION,
  SCALE_UP_ANNOTATION,
  verdictAnnotation,
} from '../../../src/kube/annotations.js';

const node = (name: string, annotations: Record<string, string> = {}): V1Node => ({ metadata: { name, annotations } });
const pod = (ns: string, name: string, annotations: Record<string, string> = {}): V1Pod => ({
  metadata: { namespace: ns, name, annotations },
});
const unneeded = {
  kind: 'unneeded',
  reason: 'NotUnneededLongEnough',
  message: 'requests 10% of its cpu or memory; unneeded for 5m50s, removable after 10m00s (4m10s left)',
};

describe('reasons as annotations', () => {
  it('writes countdowns in whole minutes, so the value changes at most once a minute', () => {
    expect(verdictAnnotation(unneeded)).toBe('NotUnneededLongEnough 4m left');
    expect(verdictAnnotation({ ...unneeded, message: 'x (4m55s left)' })).toBe('NotUnneededLongEnough 4m left');
    expect(verdictAnnotation({ ...unneeded, message: 'x (45s left)' })).toBe('NotUnneededLongEnough <1m left');
    expect(verdictAnnotation({ kind: 'kept', reason: 'NotUnderutilized', message: 'requests 80% of its cpu' })).toBe(
      'NotUnderutilized: requests 80% of its cpu',
    );
    expect(verdictAnnotation({ kind: 'no-scale-up', reason: 'X', message: 'y'.repeat(1000) })).toHaveLength(256);
  });

  it('adds, updates and removes only what differs', () => {
    const plan = {
      nodes: {
        n1: { group: 'a', hostname: 'a-1', verdict: unneeded },
        n2: { group: 'a', hostname: 'a-2', verdict: { kind: 'kept', reason: 'NotUnderutilized', message: 'busy' } },
      },
      pods: { 'web/p1': { kind: 'no-scale-up', reason: 'TooBigForEveryTemplate', message: 'too big' } },
    };
    const patches = annotationPatches(
      plan,
      new Set(['web/p1', 'web/p3']),
      [
        node('n1', { [SCALE_DOWN_ANNOTATION]: 'NotUnneededLongEnough 4m left' }), // current: no patch
        node('n2', { [SCALE_DOWN_ANNOTATION]: 'NotUnneededLongEnough 1m left' }), // changed
        node('gone-from-plan', { [SCALE_DOWN_ANNOTATION]: 'Removable: empty' }), // stale
        node('control-plane'), // never ours: no patch
      ],
      [
        pod('web', 'p1'), // new verdict
        pod('web', 'p2', { [SCALE_UP_ANNOTATION]: 'ScaleUp: a +1' }), // scheduled now: stale
        pod('web', 'p3', { [SCALE_UP_ANNOTATION]: 'NoGroupFits: x' }), // pending beyond the cap: kept
        pod('web', 'p4'),
      ],
    );
    expect(patches).toEqual([
      { kind: 'Node', name: 'n2', key: SCALE_DOWN_ANNOTATION, value: 'NotUnderutilized: busy' },
      { kind: 'Node', name: 'gone-from-plan', key: SCALE_DOWN_ANNOTATION, value: null },
      { kind: 'Pod', namespace: 'web', name: 'p1', key: SCALE_UP_ANNOTATION, value: 'TooBigForEveryTemplate: too big' },
      { kind: 'Pod', namespace: 'web', name: 'p2', key: SCALE_UP_ANNOTATION, value: null },
    ]);
  });

  it('returns before writing, writes in bounded batches for the newest plan, and never sends a value twice', async () => {
    const pods = Array.from({ length: 120 }, (_, i) => pod('ns', `p${i}`));
    const verdict = { kind: 'no-scale-up', reason: 'NoGroupFits', message: 'm' };
    const plan = { nodes: {}, pods: Object.fromEntries(pods.map((p) => [`ns/${p.metadata!.name}`, verdict])) };
    const batches: number[] = [];
    let inBatch = 0;
    let release: () => void = () => undefined;
    let gate = new Promise<void>((r) => (release = r));
    const core = {
      patchNamespacedPod: async () => {
        if (inBatch === 0) await gate;
        inBatch += 1;
        if (inBatch === MAX_PATCHES_PER_BATCH) {
          batches.push(inBatch);
          inBatch = 0;
          gate = Promise.resolve();
        }
        return {};
      },
    } as unknown as CoreV1Api;
    const writer = new ReasonAnnotations(core, { nodes: () => [], pods: () => pods });
    writer.afterPlan(plan, Object.keys(plan.pods));
    // The caller is not held up: nothing was written yet.
    expect(batches).toEqual([]);
    release();
    await writer.idle();
    expect(batches).toEqual([MAX_PATCHES_PER_BATCH, MAX_PATCHES_PER_BATCH]);
    expect(inBatch).toBe(20);
    // The cache has not seen the patches yet, but the writer remembers what it sent.
    let calls = 0;
    (core as unknown as { patchNamespacedPod: () => Promise<object> }).patchNamespacedPod = async () => {
      calls += 1;
      return {};
    };
    writer.afterPlan(plan, Object.keys(plan.pods));
    await writer.idle();
    expect(calls).toBe(0);
  });
});
