import { createElement as h } from 'react';
import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { TopFrame } from '../../../src/cli/view/app.js';
import { renderTopText, shortDuration } from '../../../src/cli/view/render.js';
import type { TopData } from '../../../src/cli/view/source.js';
import type { EvaluatorStatus } from '../../../src/workflows/evaluator-state.js';

const NOW = Date.UTC(2026, 10, 25, 20, 0, 0);
const group = (size: number, ready: number, min: number, max: number) => ({
  size,
  ready,
  min,
  max,
  provisionTimeoutMs: 60_000,
  drainTimeoutMs: 60_000,
});

function status(overrides: Partial<EvaluatorStatus> = {}): EvaluatorStatus {
  return {
    paused: null,
    pausedGroups: {},
    holds: {},
    backoff: { 'slicer-arm': { until: NOW + 250_000, failures: 2, lastError: 'NodeNotReadyInTime' } },
    operations: {
      'scale-up/slicer-x86/demo-7': {
        kind: 'scale-up',
        group: 'slicer-x86',
        count: 2,
        startedAt: NOW - 12_000,
        reason: '3 pending pod(s) fit slicer-x86',
      },
      'scale-down/slicer-x86-1-abcd': {
        kind: 'scale-down',
        group: 'slicer-x86',
        node: 'slicer-x86-1-abcd',
        startedAt: NOW - 3_000,
        reason: 'empty; requests 0% of its cpu or memory',
      },
    },
    recent: [
      {
        workflowId: 'scale-up/slicer-arm/demo-5',
        kind: 'scale-up',
        group: 'slicer-arm',
        succeeded: false,
        message: '0/1 joined; NodeNotReadyInTime: VM slicer-arm-1 did not become a Ready Node',
        at: NOW - 60_000,
      },
    ],
    orphans: [],
    groups: { 'slicer-x86': group(3, 2, 0, 4), 'slicer-arm': group(0, 0, 0, 2) },
    lastEvaluationAt: NOW - 2_000,
    pendingPods: 4,
    unneededNodes: 1,
    overrides: { 'slicer-arm': { size: 0, until: NOW + 11 * 3600_000, reason: 'night' } },
    refusals: [
      {
        at: NOW - 30_000,
        command: 'overrideSize',
        input: '{"group":"x","size":9,"source":"slicer-autoscaler/demo/scale-x"}',
        reason: 'overrideSize x to 9 refused: max-size is 4',
      },
    ],
    ...overrides,
  };
}

function data(s: EvaluatorStatus = status()): TopData {
  return {
    cluster: 'demo',
    namespace: 'default',
    uiUrl: 'http://127.0.0.1:8233',
    fetchedAt: NOW,
    status: s,
    phases: { 'scale-up/slicer-x86/demo-7': 'registering', 'scale-down/slicer-x86-1-abcd': 'draining' },
    plan: {
      at: NOW - 2_000,
      scaleUps: [],
      scaleDowns: [],
      timers: { set: {}, cleared: [] },
      groups: s.groups,
      totalNodes: 3,
      maxNodesTotal: 0,
      nodeReasons: { NotUnneededLongEnough: 1 },
      nodes: {
        'slicer-x86-2-beef': {
          group: 'slicer-x86',
          hostname: 'slicer-x86-2',
          verdict: {
            kind: 'unneeded',
            reason: 'NotUnneededLongEnough',
            message: 'requests 10% of its cpu or memory; unneeded for 1m0s, removable after 5m0s (4m00s left)',
          },
        },
      },
      pods: {
        'shop/batch': {
          kind: 'no-scale-up',
          reason: 'TooBigForEveryTemplate',
          message: 'requests 16 CPU and 1 GiB; the largest template is 12 CPU short',
        },
        'shop/web-1': { kind: 'pending', reason: 'FitsUpcomingNode', message: 'fits a VM being created in slicer-x86' },
      },
      pendingPods: 4,
      podReasons: { FitsUpcomingNode: 3, TooBigForEveryTemplate: 1 },
    },
  };
}

describe('the live view renderer', () => {
  it('shows each group with limits, VMs, Ready nodes, operations with phase and age, backoff and pins', () => {
    const text = renderTopText(data(), { now: NOW, width: 200 });
    const lines = text.split('\n');
    const x86 = lines.find((l) => l.startsWith('slicer-x86'))!;
    // 3 registered + 2 being created; 2 of 3 Ready; one scale-up registering, one scale-down draining.
    expect(x86.split(/\s{2,}/)).toEqual(['slicer-x86', '0', '4', '5', '2/3', '+2 registering, -1 draining', '-', '-']);
    const arm = lines.find((l) => l.startsWith('slicer-arm'))!;
    expect(arm).toContain('4m10s (2 failed)');
    expect(arm).toContain('pinned at 0, 11h00m left');
    expect(text).toMatch(/scale-up\/slicer-x86\/demo-7\s+registering\s+12s\s+\+2 VM\(s\)/);
    expect(text).toMatch(/scale-down\/slicer-x86-1-abcd\s+draining\s+3s\s+slicer-x86-1-abcd/);
  });

  it('shows pending pods by verdict, node verdicts, the last decisions newest first, and the UI link', () => {
    const text = renderTopText(data(), { now: NOW, width: 200 });
    expect(text).toContain('PENDING PODS (4)');
    expect(text).toContain('FitsUpcomingNode 3 · TooBigForEveryTemplate 1');
    expect(text).toContain('shop/batch  TooBigForEveryTemplate: requests 16 CPU');
    expect(text).toContain('slicer-x86-2-beef  NotUnneededLongEnough:');
    const decisions = text.slice(text.indexOf('LAST DECISIONS')).split('\n').slice(1, 5);
    expect(decisions[0]).toMatch(/^ {2}3s ago {2}started scale-down\/slicer-x86-1-abcd: empty/);
    expect(decisions[1]).toMatch(/^ {2}12s ago {2}started scale-up\/slicer-x86\/demo-7 \(\+2\): 3 pending/);
    expect(decisions[2]).toMatch(/30s ago {2}refused overrideSize: overrideSize x to 9/);
    expect(decisions[3]).toMatch(/1m00s ago {2}failed scale-up\/slicer-arm\/demo-5: 0\/1 joined/);
    expect(text).toContain('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/autoscaler%2Fdemo');
  });

  it('says paused and dry-run up front, with what a dry run would have started', () => {
    const s = status({
      paused: { reason: 'maintenance', until: NOW + 600_000 },
      dryRun: true,
      wouldHave: {
        at: NOW - 1000,
        scaleUps: [{ group: 'slicer-x86', count: 2, reason: 'r', provisionTimeoutMs: 1 }],
        scaleDowns: [],
      },
    });
    const lines = renderTopText(data(s), { now: NOW, width: 200 }).split('\n');
    expect(lines[1]).toBe('DRY-RUN: operations are recorded, never started');
    expect(lines[2]).toBe('PAUSED: maintenance (10m00s left)');
    expect(lines.find((l) => l.includes('would have started'))).toContain('scale-up slicer-x86 +2');
  });

  it('cuts lines to the width and bounds each list', () => {
    const many = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `ns/p${i}`,
        { kind: 'no-scale-up', reason: 'NoGroupFits', message: 'x'.repeat(300) },
      ]),
    );
    const d = data();
    d.plan = { ...d.plan!, pods: many };
    const lines = renderTopText(d, { now: NOW, width: 60, rows: 5 }).split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    expect(lines.filter((l) => l.startsWith('  ns/p'))).toHaveLength(5);
    expect(lines).toContain('  … 25 more');
  });

  it('explains a missing evaluator instead of showing an empty table', () => {
    const text = renderTopText(
      { cluster: 'c', namespace: 'default', fetchedAt: NOW, phases: {}, error: 'no evaluator autoscaler/c' },
      { now: NOW, width: 100 },
    );
    expect(text).toContain('no evaluator autoscaler/c');
    expect(text).not.toContain('GROUP');
  });

  it('renders the same frame through ink', () => {
    const frame = renderToString(h(TopFrame, { data: data(), now: NOW, width: 150 }), { columns: 150 });
    expect(frame).toContain('slicer-autoscaler top · cluster demo · evaluated 2s ago · 20:00:00 UTC');
    expect(frame).toMatch(/slicer-x86\s+0\s+4\s+5\s+2\/3\s+\+2 registering, -1 draining/);
    expect(frame).toContain('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/autoscaler%2Fdemo');
  });

  it('writes durations short', () => {
    expect([shortDuration(4_400), shortDuration(250_000), shortDuration(39_600_000)]).toEqual([
      '4s',
      '4m10s',
      '11h00m',
    ]);
  });
});
