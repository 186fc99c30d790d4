import { describe, expect, it, vi } from 'vitest';
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  LAST_UPDATED_ANNOTATION,
  STATUS_CONFIGMAP,
  StatusConfigMapWriter,
  Transitions,
  caTime,
  renderStatus,
} from '../../../src/kube/status-configmap.js';
import type { GroupSummary, PlanSummary } from '../../../src/metrics/plan-summary.js';

const counts = (o: Partial<GroupSummary['counts']> = {}) => ({
  total: 3,
  ready: 3,
  unready: 0,
  notStarted: 0,
  beingDeleted: 0,
  unregistered: 0,
  longUnregistered: 0,
  ...o,
});

const group = (name: string, o: Partial<GroupSummary> = {}): GroupSummary => ({
  name,
  min: 0,
  max: 8,
  target: 3,
  healthy: true,
  counts: counts(),
  scaleUp: 'NoActivity',
  scaleDownCandidates: 0,
  ...o,
});

/** The parsed `status` YAML, as far as these tests look into it. */
interface Condition {
  status: string;
  lastProbeTime: string;
  lastTransitionTime: string;
  [more: string]: unknown;
}
interface StatusYaml {
  time: string;
  autoscalerStatus: string;
  message?: string;
  clusterWide: { health: Condition; scaleUp: Condition; scaleDown: Condition };
  nodeGroups: { name: string; health: Condition; scaleUp: Condition; scaleDown: Condition }[];
}
const status = (text: string) => parse(text) as StatusYaml;

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0, 120);

const summary = (o: Partial<PlanSummary> = {}): PlanSummary => ({
  at: T0,
  healthy: true,
  counts: counts({ total: 4, ready: 4 }),
  groups: [
    group('x86', { scaleUp: 'Backoff', backoffUntil: T0 + 300_000, counts: counts({ unregistered: 1 }), target: 4 }),
    group('arm', { scaleDownCandidates: 1 }),
  ],
  scaleUp: 'InProgress',
  scaleDownCandidates: 1,
  pendingPods: 2,
  schedulerUnprocessed: 0,
  ...o,
});

describe("status ConfigMap in cluster-autoscaler's layout", () => {
  it("writes time in Go's format, as cluster-autoscaler does", () => {
    expect(caTime(new Date(T0))).toBe('2026-01-01 12:00:00.12 +0000 UTC');
    expect(caTime(new Date(Date.UTC(2026, 0, 1)))).toBe('2026-01-01 00:00:00 +0000 UTC');
  });

  it('has time, autoscalerStatus, clusterWide health/scaleUp/scaleDown and nodeGroups with their conditions', () => {
    const y = status(renderStatus(summary(), new Transitions(), new Date(T0)));
    expect(Object.keys(y)).toEqual(['time', 'autoscalerStatus', 'clusterWide', 'nodeGroups']);
    expect(y.autoscalerStatus).toBe('Running');
    expect(y.clusterWide).toEqual({
      health: {
        status: 'Healthy',
        nodeCounts: {
          registered: { total: 4, ready: 4, notStarted: 0, unready: { total: 0, resourceUnready: 0 } },
          longUnregistered: 0,
          unregistered: 0,
        },
        lastProbeTime: '2026-01-01T12:00:00Z',
        lastTransitionTime: '2026-01-01T12:00:00Z',
      },
      scaleUp: {
        status: 'InProgress',
        lastProbeTime: '2026-01-01T12:00:00Z',
        lastTransitionTime: '2026-01-01T12:00:00Z',
      },
      scaleDown: {
        status: 'CandidatesPresent',
        candidates: 1,
        lastProbeTime: '2026-01-01T12:00:00Z',
        lastTransitionTime: '2026-01-01T12:00:00Z',
      },
    });
    const [x86, arm] = y.nodeGroups as [StatusYaml['nodeGroups'][number], StatusYaml['nodeGroups'][number]];
    expect(x86.name).toBe('x86');
    expect(x86.health).toMatchObject({
      status: 'Healthy',
      cloudProviderTarget: 4,
      minSize: 0,
      maxSize: 8,
      nodeCounts: { unregistered: 1 },
    });
    expect(x86.scaleUp).toMatchObject({
      status: 'Backoff',
      backoffInfo: { errorCode: 'FailedScaleUp', errorMessage: expect.stringContaining('2026-01-01T12:05:00') },
    });
    expect(x86.scaleDown.status).toBe('NoCandidates');
    expect(arm.scaleDown).toMatchObject({ status: 'CandidatesPresent', candidates: 1 });
  });

  it('says Initializing before the first evaluation', () => {
    expect(parse(renderStatus(undefined, new Transitions(), new Date(T0)))).toEqual({
      time: '2026-01-01 12:00:00.12 +0000 UTC',
      autoscalerStatus: 'Initializing',
    });
  });

  it('keeps lastTransitionTime until the status changes', () => {
    const t = new Transitions();
    renderStatus(summary(), t, new Date(T0));
    const later = status(renderStatus(summary(), t, new Date(T0 + 60_000)));
    expect(later.clusterWide.health.lastTransitionTime).toBe('2026-01-01T12:00:00Z');
    expect(later.clusterWide.health.lastProbeTime).toBe('2026-01-01T12:01:00Z');
    const changed = status(renderStatus(summary({ healthy: false }), t, new Date(T0 + 120_000)));
    expect(changed.clusterWide.health).toMatchObject({
      status: 'Unhealthy',
      lastTransitionTime: '2026-01-01T12:02:00Z',
    });
  });

  it('cuts node groups to fit the size bound, keeping unhealthy and backed-off ones first', () => {
    const many = summary({
      groups: [
        ...Array.from({ length: 50 }, (_, i) => group(`quiet-${String(i).padStart(2, '0')}`)),
        group('sick', { healthy: false }),
        group('backoff', { scaleUp: 'Backoff', backoffUntil: T0 }),
      ],
    });
    const full = renderStatus(many, new Transitions(), new Date(T0));
    const cut = status(renderStatus(many, new Transitions(), new Date(T0), Math.floor(full.length / 4)));
    expect(cut.nodeGroups.length).toBeLessThan(52);
    expect(cut.nodeGroups.slice(0, 2).map((g) => g.name)).toEqual(['sick', 'backoff']);
    expect(cut.message).toMatch(/node groups cut to \d+ of 52/);
  });
});

describe('status ConfigMap writer', () => {
  function fakeCore(existing?: V1ConfigMap) {
    let stored = existing;
    const calls: string[] = [];
    const core = {
      readNamespacedConfigMap: vi.fn(async () => {
        calls.push('read');
        if (!stored) throw Object.assign(new Error('not found'), { code: 404 });
        return stored;
      }),
      createNamespacedConfigMap: vi.fn(async ({ body }: { body: V1ConfigMap }) => {
        calls.push('create');
        stored = { ...body, metadata: { ...body.metadata, uid: 'cm-uid', resourceVersion: '1' } };
        return stored;
      }),
      replaceNamespacedConfigMap: vi.fn(async ({ body }: { body: V1ConfigMap }) => {
        calls.push('replace');
        stored = { ...body, metadata: { ...body.metadata, resourceVersion: '2' } };
        return stored;
      }),
    } as unknown as CoreV1Api;
    return { core, calls, stored: () => stored };
  }

  it('creates it Initializing, then replaces it with the latest summary at most once per interval', async () => {
    vi.useFakeTimers({ now: T0 });
    try {
      const { core, calls, stored } = fakeCore();
      const w = new StatusConfigMapWriter(core, { namespace: 'kube-system', intervalMs: 5000 });
      await w.initialize();
      expect(stored()?.metadata?.name).toBe(STATUS_CONFIGMAP);
      expect(stored()?.metadata?.annotations?.[LAST_UPDATED_ANNOTATION]).toBe('2026-01-01 12:00:00.12 +0000 UTC');
      expect(parse(stored()!.data!['status']!)).toMatchObject({ autoscalerStatus: 'Initializing' });
      expect(await w.ref()).toEqual({ uid: 'cm-uid', resourceVersion: '1' });

      for (let i = 0; i < 10; i++) w.offer(summary({ pendingPods: i }));
      await vi.advanceTimersByTimeAsync(4000);
      expect(calls.filter((c) => c === 'replace')).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1500);
      expect(calls.filter((c) => c === 'replace')).toHaveLength(1);
      expect(parse(stored()!.data!['status']!)).toMatchObject({ autoscalerStatus: 'Running' });
      await w.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
