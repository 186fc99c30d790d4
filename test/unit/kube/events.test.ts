import { describe, expect, it, vi } from 'vitest';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { PlanResult } from '../../../src/shared/plan-contract.js';
import { EventPublisher, nodeEvent, planEvents, podEvent } from '../../../src/kube/events.js';
import { renderStatus } from '../../../src/kube/status-configmap.js';

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

  it('are sent once per object per message, and a refused event does not throw', async () => {
    const create = vi
      .fn()
      .mockResolvedValueOnce({})
      .mockRejectedValueOnce(new Error('forbidden'))
      .mockResolvedValue({});
    const publisher = new EventPublisher({ createNamespacedEvent: create } as unknown as CoreV1Api);
    const events = planEvents(plan).slice(0, 2);
    expect(await publisher.publish(events)).toBe(1);
    // The refused one is retried next time; the sent one is not repeated.
    expect(await publisher.publish(events)).toBe(1);
    expect(await publisher.publish(events)).toBe(0);
    expect(create).toHaveBeenCalledTimes(3);
  });
});

describe('status ConfigMap text', () => {
  it('reads like cluster-autoscaler status: groups, health, scale-up activity and pending reasons', () => {
    const text = renderStatus(plan, 'home', new Date('2026-01-01T00:00:00Z'));
    expect(text).toContain('ScaleUp:   x86 +2 (pending pods: 2)');
    expect(text).toContain('Health: Unhealthy (ready=2 registered=3 minSize=1 maxSize=8)');
    expect(text).toContain('TooBigForEveryTemplate: 1');
  });
});
