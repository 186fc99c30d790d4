import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import type { VmProvider, VmRecord } from '../../../src/activities/vm-provider.js';
import { createVmActivities } from '../../../src/activities/vms.js';

// A create whose answer is lost may still make its VM a few seconds later. Failing at once would let the retry
// create a second VM for the same slot (and cross max-size); launchVm first waits for the lost one to show up.

const TAG = 'slicer-autoscaler/op=scale-up/g/c-abc#0';
const lost = (kind: string) =>
  ApplicationFailure.create({ message: 'no answer', type: 'SlicerRetryable', details: [{ kind }] });

function provider(opts: { createError: ApplicationFailure; appearsAfterLooks: number }) {
  let looks = 0;
  const vm: VmRecord = { hostname: 'g-7', tags: [TAG], createdAtMs: 1 };
  const vms: VmProvider = {
    findVmsByTag: vi.fn(async () => (looks++ > opts.appearsAfterLooks ? [vm] : [])),
    listVms: vi.fn(async () => []),
    createVm: vi.fn(async () => {
      throw opts.createError;
    }),
    deleteVm: vi.fn(async () => ({ existed: true })),
    consoleTail: vi.fn(async () => ''),
  };
  return vms;
}

describe('launchVm after a create whose answer was lost', () => {
  it('returns the VM the lost create made, without creating again', async () => {
    const vms = provider({ createError: lost('Network'), appearsAfterLooks: 2 });
    const { launchVm } = createVmActivities({ vms, cluster: 'c', core: {} as CoreV1Api });
    const out = await new MockActivityEnvironment().run(launchVm, { group: 'g', operationTag: TAG, vmId: 'abc-0' });
    expect(out).toMatchObject({ hostname: 'g-7', reused: true });
    expect(vms.createVm).toHaveBeenCalledTimes(1);
  }, 20_000);

  it('fails at once when Slicer answered with an error (nothing to wait for)', async () => {
    const vms = provider({ createError: lost('Server'), appearsAfterLooks: 0 });
    const { launchVm } = createVmActivities({ vms, cluster: 'c', core: {} as CoreV1Api });
    await expect(
      new MockActivityEnvironment().run(launchVm, { group: 'g', operationTag: TAG, vmId: 'abc-0' }),
    ).rejects.toThrow('no answer');
    expect(vms.findVmsByTag).toHaveBeenCalledTimes(1); // the look before creating, none after
  });
});
