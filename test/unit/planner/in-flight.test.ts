import { describe, expect, it } from 'vitest';
import { plan } from '../../../src/planner/index.js';
import { inFlightView } from '../../../src/planner/in-flight.js';
import { group, input, node, pod } from './builders.js';

// Right-sizing issue: a VM of a running scale-up counts once (as a Node once it registered, else as in flight), and
// its Node stays upcoming capacity while it still carries a startup taint, so a pod waiting for it never orders
// another VM.

describe('in-flight accounting', () => {
  it('counts registered Nodes of a running scale-up once, and not-yet-usable ones as joining', () => {
    const inp = input({
      groups: [group({ name: 'x86' })],
      nodes: [
        node({ name: 'n1', group: 'x86', vmId: 'op1-0' }),
        node({ name: 'n2', group: 'x86', vmId: 'op1-1', startupTainted: true }),
      ],
      state: { inFlight: { x86: 3 }, inFlightOps: [{ opId: 'op1', group: 'x86', count: 3 }] },
    });
    const view = inFlightView(inp);
    expect(view.unregistered).toEqual({ x86: 1 });
    expect([...view.joining]).toEqual(['n2']);
    expect([...view.unconfirmed]).toEqual(['n1']);
  });

  it('never removes an empty, usable Node while the scale-up that made it still runs', () => {
    const made = node({ name: 'n1', group: 'x86', vmId: 'op1-0' });
    const other = node({ name: 'n2', group: 'x86', vmId: 'op0-0' });
    const base = {
      groups: [group({ name: 'x86' })],
      nodes: [made, other],
      state: { unneededSince: { n1: 0, n2: 0 } },
    };
    const running = plan(
      input({
        ...base,
        state: { ...base.state, inFlight: { x86: 1 }, inFlightOps: [{ opId: 'op1', group: 'x86', count: 1 }] },
      }),
    );
    expect(running.nodeVerdicts['n1']).toMatchObject({ kind: 'kept', reason: 'StillJoining' });
    expect(running.scaleDowns.map((d) => d.node)).not.toContain('n1');
    // Once the scale-up ended, the same Node is ordinary capacity for scale-down to judge.
    const ended = plan(input(base));
    expect(ended.scaleDowns.map((d) => d.node)).toContain('n1');
  });

  it('orders no second VM for a pod that waits on a Ready Node still tainted not-ready', () => {
    const waiting = pod({ name: 'p', cpu: 3000, unschedulable: true });
    const tainted = node({
      name: 'n1',
      group: 'x86',
      cpu: 4,
      vmId: 'op1-0',
      startupTainted: true,
      taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
    });
    const inp = input({
      groups: [group({ name: 'x86', cpu: 4 })],
      nodes: [tainted],
      pods: [waiting],
      state: { inFlight: { x86: 1 }, inFlightOps: [{ opId: 'op1', group: 'x86', count: 1 }] },
    });
    const result = plan(inp);
    expect(result.scaleUps).toEqual([]);
    expect(result.podVerdicts['default/p']).toMatchObject({ kind: 'fits-in-flight' });
    expect(result.nodeVerdicts['n1']).toMatchObject({ reason: 'StillJoining' });
  });

  it('without operation IDs (older evaluators), still counts a whole scale-up as in flight', () => {
    const inp = input({ groups: [group({ name: 'x86' })], state: { inFlight: { x86: 2 } } });
    expect(inFlightView(inp).unregistered).toEqual({ x86: 2 });
  });
});

describe('in-flight accounting, as a property', () => {
  it('never orders a VM for pods that fit on VMs already on the way, registered or not', async () => {
    const fc = await import('fast-check');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }), // VMs of the running scale-up
        fc.integer({ min: 0, max: 6 }), // of which registered as Nodes (capped below)
        fc.integer({ min: 0, max: 6 }), // of those, still carrying a startup taint
        fc.integer({ min: 0, max: 12 }), // pending pods of half a node each
        (count, registeredRaw, taintedRaw, pods) => {
          const registered = Math.min(registeredRaw, count);
          const tainted = Math.min(taintedRaw, registered);
          const nodes = Array.from({ length: registered }, (_, i) =>
            node({
              name: `n${i}`,
              group: 'x86',
              cpu: 4,
              vmId: `op1-${i}`,
              startupTainted: i < tainted,
              taints: i < tainted ? [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const }] : [],
            }),
          );
          const pending = Array.from({ length: pods }, (_, i) =>
            pod({ name: `p${i}`, cpu: 2000, unschedulable: true }),
          );
          const result = plan(
            input({
              groups: [group({ name: 'x86', cpu: 4, maxSize: 100 })],
              nodes,
              pods: pending,
              state: { inFlight: { x86: count }, inFlightOps: [{ opId: 'op1', group: 'x86', count }] },
            }),
          );
          const ordered = result.scaleUps.reduce((n, s) => n + s.count, 0);
          // Two pods per VM; every VM of the operation counts exactly once.
          const needed = Math.max(0, Math.ceil(pods / 2) - count);
          expect(ordered).toBe(needed);
        },
      ),
      { numRuns: 300 },
    );
  });
});
