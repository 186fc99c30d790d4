import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubernetesObject, Watch } from '@kubernetes/client-node';
import { Informer } from '../../../src/kube/informer.js';

// Safety issue, items 5 and 13: the informer says whether it can be trusted, and a list or watch that keeps failing
// is retried with growing waits instead of in a tight loop.

type Done = (err: unknown) => void;

function fakeWatch(behaviour: () => 'fail-at-once' | 'open') {
  const calls: { done: Done }[] = [];
  const watch = {
    watch: async (_path: string, _params: unknown, _cb: unknown, done: Done) => {
      calls.push({ done });
      if (behaviour() === 'fail-at-once') done(Object.assign(new Error('Forbidden'), { statusCode: 403 }));
      return new AbortController();
    },
  } as unknown as Watch;
  return { watch, calls };
}

describe('Informer', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_800_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('is not synced until a list succeeds, and retries a failing list with growing waits', async () => {
    let lists = 0;
    const { watch } = fakeWatch(() => 'open');
    const informer = new Informer<KubernetesObject>({
      kind: 'pod',
      path: '/api/v1/pods',
      watch,
      list: async () => {
        lists += 1;
        if (lists < 4) throw new Error('the pod list failed');
        return { items: [{ metadata: { name: 'a', namespace: 'n' } }], metadata: { resourceVersion: '7' } };
      },
      slim: (o) => o,
      onChange: () => undefined,
      log: () => undefined,
    });
    void informer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(informer.synced).toBe(false);
    expect(lists).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(lists).toBe(1); // 1 s before the first retry
    await vi.advanceTimersByTimeAsync(1);
    expect(lists).toBe(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(lists).toBe(2); // then 2 s
    await vi.advanceTimersByTimeAsync(1 + 5000);
    expect(lists).toBe(4);
    expect(informer.synced).toBe(true);
    expect(informer.list()).toHaveLength(1);
    expect(informer.downForMs()).toBe(0);
    informer.stop();
  });

  it('backs off a watch that fails as soon as it opens, instead of restarting it in a loop', async () => {
    const { watch, calls } = fakeWatch(() => 'fail-at-once');
    const informer = new Informer<KubernetesObject>({
      kind: 'node',
      path: '/api/v1/nodes',
      watch,
      list: async () => ({ items: [], metadata: { resourceVersion: '1' } }),
      slim: (o) => o,
      onChange: () => undefined,
      log: () => undefined,
    });
    await informer.start();
    await vi.advanceTimersByTimeAsync(60_000);
    // 1 + 2 + 5 + 10 + 30 s of waits fit in a minute: six tries, not thousands.
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(informer.downForMs()).toBeGreaterThanOrEqual(60_000);
    informer.stop();
  });
});
