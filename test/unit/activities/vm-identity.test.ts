import { describe, expect, it } from 'vitest';
import { IDENTITY_TOLERANCE_MS, vmBehindNode } from '../../../src/activities/vm-identity.js';

const T = 1_800_000_000_000;

describe('vmBehindNode (safety issue, item 4)', () => {
  const older = { hostname: 'g-1', tags: ['slicer-autoscaler/vm=op1-0'], createdAtMs: T };
  const newer = { hostname: 'g-1', tags: ['slicer-autoscaler/vm=op2-0'], createdAtMs: T + 60_000 };

  it('matches a Node that joined through us only to the VM carrying its vm-id', () => {
    expect(vmBehindNode({ hostname: 'g-1', vmId: 'op1-0', createdAtMs: T + 5000 }, [newer])).toBeUndefined();
    expect(vmBehindNode({ hostname: 'g-1', vmId: 'op2-0', createdAtMs: T + 65_000 }, [newer])).toBe(newer);
    expect(vmBehindNode({ hostname: 'g-1', vmId: 'op1-0', createdAtMs: T + 5000 }, [older, newer])).toBe(older);
  });

  it('matches a Node made elsewhere (no vm-id) only to an untagged VM created before it registered', () => {
    const hand = { hostname: 'g-1', tags: [], createdAtMs: T };
    expect(vmBehindNode({ hostname: 'g-1', createdAtMs: T + 10_000 }, [hand])).toBe(hand);
    // A VM created after the Node registered reused the hostname: a different machine.
    expect(vmBehindNode({ hostname: 'g-1', createdAtMs: T - IDENTITY_TOLERANCE_MS - 1 }, [hand])).toBeUndefined();
    // One of ours joins with a vm-id, so it can never be the machine behind a Node without one.
    expect(vmBehindNode({ hostname: 'g-1', createdAtMs: T + 10_000 }, [older])).toBeUndefined();
    // Unknown creation time proves nothing.
    expect(vmBehindNode({ hostname: 'g-1', createdAtMs: T }, [{ ...hand, createdAtMs: NaN }])).toBeUndefined();
  });
});
