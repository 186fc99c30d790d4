import { Writable } from 'node:stream';
import type { CoreV1Api, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { createPlanScaling } from '../../../src/activities/plan-scaling.js';
import type { PlanResult } from '../../../src/shared/plan-contract.js';
import { parseFlags } from '../../../src/config/flags.js';
import { parseConfig } from '../../../src/config/load.js';
import type { ClusterCache } from '../../../src/kube/cluster-cache.js';
import { createLogger } from '../../../src/logging.js';
import { Observer } from '../../../src/metrics/observer.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { DEFAULT_PLANNER_OPTIONS } from '../../../src/planner/index.js';
import { EvaluatorState } from '../../../src/workflows/evaluator-state.js';

// Issue 9: planScaling awaited one POST per Kubernetes Event (and the status ConfigMap write) before answering, so
// a slow apiserver made every evaluation slow. Here every apiserver write hangs for ever: planScaling must still
// answer, and the events must still be attempted afterwards. Before the fix the planner took the apiserver client
// itself (`core`, `statusNamespace`) and this test timed out; it passes that client both ways so it runs on either.

const config = parseConfig(
  [
    '[global]',
    'k3s-url = https://10.0.0.1:6443',
    'k3s-token = K10-unit-test-token',
    'default-min-size = 0',
    '[nodegroup "x86"]',
    'slicer-url = http://127.0.0.1:1',
    'slicer-token = slicer-unit-test-token',
    'max-size = 5',
  ].join('\n'),
);

function pendingPod(name: string, cpu: string): V1Pod {
  return {
    metadata: { name, namespace: 'web', uid: `uid-${name}`, creationTimestamp: new Date(Date.now() - 60_000) },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu, memory: '128Mi' } } }] },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: new Date() }],
    },
  };
}

const pods = [pendingPod('fits', '1'), pendingPod('huge', '64')];
const cache = {
  nodes: () => [] as V1Node[],
  pods: () => pods,
  pdbs: () => [],
  staleness: () => undefined,
  isSynced: () => true,
  subscribe: () => () => undefined,
} as unknown as ClusterCache;

/** An Observer of `config` writing Events and the status ConfigMap through `core`, logging nowhere. */
function observerFor(core: CoreV1Api, extra: { statusIntervalMs?: number } = {}): Observer {
  const observer = new Observer({
    metrics: createMetrics(),
    cache,
    config,
    thresholds: DEFAULT_PLANNER_OPTIONS,
    maxNodesTotal: 0,
    core,
    statusNamespace: 'kube-system',
    ...extra,
    log: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  });
  observer.start();
  return observer;
}

/** The planner over `cache` with one x86 template, handing each plan to `observer`. */
function plannerFor(observer: Observer) {
  return createPlanScaling({
    config,
    flags: parseFlags([]).options,
    cache,
    listHostGroups: async () => [{ name: 'x86', cpus: 2, ramBytes: 4 * 1024 ** 3, arch: 'amd64', gpuCount: 0 }],
    afterPlan: (req, result, timings, full) => observer.afterPlan(req, result, timings, full),
  });
}

describe('planScaling is off the apiserver write path', () => {
  it('answers while every event POST and ConfigMap write hangs, and the events are sent afterwards', async () => {
    const never = () => new Promise<never>(() => undefined);
    const createEvent = vi.fn(never);
    const core = {
      createNamespacedEvent: createEvent,
      readNamespacedConfigMap: vi.fn(never),
      replaceNamespacedConfigMap: vi.fn(never),
      createNamespacedConfigMap: vi.fn(never),
    } as unknown as CoreV1Api;
    const observer = observerFor(core);
    const { planScaling } = createPlanScaling({
      config,
      flags: parseFlags([]).options,
      cache,
      listHostGroups: async () => [{ name: 'x86', cpus: 2, ramBytes: 4 * 1024 ** 3, arch: 'amd64', gpuCount: 0 }],
      afterPlan: (req, result, timings, full) => observer.afterPlan(req, result, timings, full),
      // The old planner's own apiserver wiring, ignored today.
      ...({ core, statusNamespace: 'kube-system' } as object),
    });
    const answer = planScaling({
      evaluatorId: 'autoscaler/unit',
      timers: { epoch: 'e', version: 0, full: {} },
      paused: false,
      pausedGroups: [],
      backoffUntil: {},
      inFlight: {},
      nodesBeingRemoved: [],
      held: [],
    });
    const outcome = await Promise.race([
      answer.then((r: PlanResult) => ({ answered: true as const, result: r })),
      new Promise<{ answered: false }>((resolve) => setTimeout(() => resolve({ answered: false }), 3000)),
    ]);
    expect(outcome.answered, 'planScaling did not answer while the apiserver hung').toBe(true);
    if (!outcome.answered) return;
    expect(outcome.result.scaleUps).toEqual([expect.objectContaining({ group: 'x86', count: 1 })]);
    expect(Object.keys(outcome.result.pods).sort()).toEqual(['web/fits', 'web/huge']);
    // Both pods' events are attempted by the background loop (and hang there, harmlessly).
    await vi.waitFor(() => expect(createEvent).toHaveBeenCalledTimes(2), { timeout: 5000 });
    expect(observer.eventSizes()).toEqual({ queued: 0, remembered: 0 });
  });
});

describe('a group whose template cannot be read', () => {
  it('drops out of planning, and pods no group helps say which group was left out and why', async () => {
    const { planScaling } = createPlanScaling({
      config,
      flags: parseFlags([]).options,
      cache,
      listHostGroups: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:1');
      },
    });
    const state = new EvaluatorState();
    const out = await planScaling(state.planRequest(Date.now(), 'autoscaler/unit', true));
    expect(out.scaleUps).toEqual([]);
    expect(out.groups['x86']?.unavailable).toContain('ECONNREFUSED');
    expect(out.pods['web/fits']?.message).toContain('not considered: x86 (cannot read host groups from Slicer');
  });
});

describe('the ScaledUpGroup event', () => {
  it('says the size the plan that ordered the scale-up saw, not a later plan that already counts the new VM', async () => {
    const created: { reason?: string; message?: string }[] = [];
    const core = {
      createNamespacedEvent: vi.fn(async (req: { body: { reason?: string; message?: string } }) => {
        created.push(req.body);
        return req.body;
      }),
      readNamespacedConfigMap: vi.fn(async () => ({ metadata: { uid: 'cm-uid' }, data: {} })),
      replaceNamespacedConfigMap: vi.fn(async () => ({})),
      createNamespacedConfigMap: vi.fn(async () => ({ metadata: { uid: 'cm-uid' } })),
    } as unknown as CoreV1Api;
    const observer = observerFor(core, { statusIntervalMs: 0 });
    const { planScaling } = plannerFor(observer);
    const state = new EvaluatorState();
    const first = await planScaling(state.planRequest(Date.now(), 'autoscaler/unit', true));
    expect(first.scaleUps).toEqual([expect.objectContaining({ group: 'x86', count: 1 })]);
    await new Promise((r) => setImmediate(r));
    // The evaluator plans again before the scale-up's first task runs: that plan counts its VM as in flight.
    state.started('scale-up/x86/unit-1', {
      kind: 'scale-up',
      group: 'x86',
      count: 1,
      startedAt: Date.now(),
      reason: '',
    });
    const second = await planScaling(state.planRequest(Date.now(), 'autoscaler/unit', true));
    expect(second.scaleUps).toEqual([]);
    await new Promise((r) => setImmediate(r));
    void observer.sinks().operations.started.fn({} as never, { kind: 'scale-up', group: 'x86', count: 1 });
    await vi.waitFor(() => expect(created.some((e) => e.reason === 'ScaledUpGroup')).toBe(true), { timeout: 5000 });
    expect(created.find((e) => e.reason === 'ScaledUpGroup')?.message).toBe(
      'Scale-up: setting group x86 size to 1 instead of 0 (max: 5)',
    );
    await observer.stop();
  });
});
