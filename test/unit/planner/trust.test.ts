import { describe, expect, it } from 'vitest';
import { plan, type PodInfo } from '../../../src/planner/index.js';
import { group, input, MIN, node, NOW, pod } from './builders.js';

// Trust the scheduler: a pod it has refused for longer than trustSchedulerAfterMs (30 s by default) is not left on
// a node the planner thinks fits it, when the scheduler has had as long to try that node.

const key = (p: PodInfo) => `${p.namespace}/${p.name}`;
const old = node({ name: 'x86-1-aaaaaaaa', group: 'x86', createdAt: NOW - 60 * MIN });

describe('trust the scheduler', () => {
  it('plans a new node for a pod refused for longer than the window, and says why', () => {
    const stuck = pod({ unschedulableSince: NOW - 45_000 });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [old], pods: [stuck] }));
    expect(p.scaleUps).toEqual([expect.objectContaining({ group: 'x86', count: 1 })]);
    expect(p.podVerdicts[key(stuck)]).toEqual({
      kind: 'scale-up',
      group: 'x86',
      reason: 'SchedulerRefusedFit',
      message: expect.stringMatching(
        /^Unschedulable for 45s though it seems to fit on x86-1-aaaaaaaa: planned as if it did not; 1 pending pod\(s\) fit on 1 new x86 node\(s\)/,
      ),
    });
  });

  it('trusts the planner within the window', () => {
    const fresh = pod({ unschedulableSince: NOW - 29_000 });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [old], pods: [fresh] }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(fresh)]).toMatchObject({ kind: 'fits-existing', reason: 'FitsExistingNode' });
  });

  it('still fits it on a node too young for the scheduler to have tried', () => {
    const young = node({ name: 'x86-2-bbbbbbbb', group: 'x86', createdAt: NOW - 10_000 });
    const stuck = pod({ unschedulableSince: NOW - 5 * MIN });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [old, young], pods: [stuck] }));
    expect(p.podVerdicts[key(stuck)]).toMatchObject({
      kind: 'fits-existing',
      message: expect.stringContaining(young.name),
    });
  });

  it('fits it on a VM in flight, which the scheduler has not seen', () => {
    const stuck = pod({ unschedulableSince: NOW - 5 * MIN });
    const p = plan(
      input({ groups: [group({ name: 'x86' })], nodes: [old], pods: [stuck], state: { inFlight: { x86: 1 } } }),
    );
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(stuck)]).toMatchObject({ kind: 'fits-in-flight', reason: 'SchedulerRefusedFit' });
  });

  it('is off with trustSchedulerAfterMs 0', () => {
    const stuck = pod({ unschedulableSince: NOW - 60 * MIN });
    const p = plan(
      input({ groups: [group({ name: 'x86' })], nodes: [old], pods: [stuck], options: { trustSchedulerAfterMs: 0 } }),
    );
    expect(p.podVerdicts[key(stuck)]).toMatchObject({ kind: 'fits-existing' });
  });

  it('plans no second node of a group whose node joined while the pod waited and was refused too', () => {
    // The pod waited since 3 min ago; x86's node joined 2 min ago (for it, probably) and still is refused.
    const fresh = node({ name: 'x86-2-bbbbbbbb', group: 'x86', createdAt: NOW - 2 * MIN });
    const stuck = pod({ unschedulableSince: NOW - 3 * MIN });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [fresh], pods: [stuck] }));
    expect(p.scaleUps).toEqual([]);
    expect(p.podVerdicts[key(stuck)]).toMatchObject({
      kind: 'no-scale-up',
      reason: 'SchedulerRefusedFit',
      message: expect.stringMatching(
        /^Unschedulable for 3m00s though it seems to fit on x86-2-bbbbbbbb: planned as if it did not; x86-2-bbbbbbbb \(x86\) joined since and was refused too: no more x86 nodes for it \(the scheduler checks something the planner does not model\)$/,
      ),
    });
    // The refused node stays, even empty: removing it would lose the proof, and the next plan would make another.
    expect(p.nodeVerdicts[fresh.name]).toMatchObject({
      kind: 'kept',
      reason: 'AwaitingPendingPods',
      message: expect.stringMatching(/refuses pending pod default\/pod-\d+ here.*no further node/),
    });
    // Another group has not been refused: it may still help.
    const q = plan(
      input({ groups: [group({ name: 'x86' }), group({ name: 'other' })], nodes: [fresh], pods: [stuck] }),
    );
    expect(q.scaleUps).toEqual([expect.objectContaining({ group: 'other', count: 1 })]);
    expect(q.podVerdicts[key(stuck)]).toMatchObject({
      kind: 'scale-up',
      group: 'other',
      reason: 'SchedulerRefusedFit',
    });
  });

  it('keeps pods that wait for different lengths in classes of their own, each with its own verdict', () => {
    const fresh = pod({ unschedulableSince: NOW - 5_000 });
    const stuck = pod({ unschedulableSince: NOW - 5 * MIN });
    const p = plan(input({ groups: [group({ name: 'x86' })], nodes: [old], pods: [fresh, stuck] }));
    expect(p.podVerdicts[key(fresh)]).toMatchObject({ kind: 'fits-existing' });
    expect(p.podVerdicts[key(stuck)]).toMatchObject({ kind: 'scale-up', reason: 'SchedulerRefusedFit' });
  });
});
