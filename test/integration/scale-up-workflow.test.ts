import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeActivities } from '../../src/activities/nodes.js';
import { createVmActivities } from '../../src/activities/vms.js';
import type { VmProvider } from '../../src/activities/vm-provider.js';
import { scaleUpWorkflowId } from '../../src/workflows/ids.js';
import type { ScaleUpResult } from '../../src/workflows/scale-up.js';
import { eventually, kubeClients, kwokNode } from './helpers/kube.js';
import { expectDeterministicReplay, temporalHarness } from './helpers/temporal.js';

// The scale-up workflow on the real Temporal server and the real apiserver, with a scripted VM provider so each
// Slicer behaviour (a VM that joins, one that never does, a create whose answer is lost) can be forced. The
// simulator-backed end-to-end test covers the same path with the real Slicer wire protocol.

class ScriptedVms implements VmProvider {
  readonly created: { group: string; hostname: string; tags: string[] }[] = [];
  readonly deleted: string[] = [];
  /** Hostnames whose VM "joins": the provider registers a KWOK Node for them. */
  joins = true;
  /** Throw a final error after creating the VM, as if the response was lost and the retry refused. */
  loseCreateResponse = false;
  constructor(private readonly register: (group: string, hostname: string) => Promise<void>) {}

  async findVmByTag(_group: string, tag: string) {
    const vm = this.created.find((v) => v.tags.includes(tag) && !this.deleted.includes(v.hostname));
    return vm ? { hostname: vm.hostname } : undefined;
  }
  async createVm(group: string, tags: string[]) {
    const hostname = `${group}-${this.created.length + 1}`;
    this.created.push({ group, hostname, tags });
    if (this.joins) await this.register(group, hostname);
    if (this.loseCreateResponse) throw ApplicationFailure.nonRetryable('create answered 400 on retry', 'SlicerFinal');
    return { hostname };
  }
  async deleteVm(_group: string, hostname: string) {
    const existed = this.created.some((v) => v.hostname === hostname) && !this.deleted.includes(hostname);
    this.deleted.push(hostname);
    return { existed };
  }
  async consoleTail(_group: string, hostname: string) {
    return `[console ${hostname}] k3s agent: failed to connect to server`;
  }
}

describe('scaleUpWorkflow', () => {
  const { core } = kubeClients();
  let harness: Awaited<ReturnType<typeof temporalHarness>>;
  const prefix = `g${randomBytes(2).toString('hex')}`;
  let group = prefix;

  const registerNode = async (g: string, hostname: string) => {
    await core.createNode({
      body: kwokNode(`${hostname}-${randomBytes(4).toString('hex')}`, {
        cpu: '2',
        memory: '4Gi',
        labels: { 'slicer/hostgroup': g, 'slicer/hostname': hostname },
      }),
    });
  };

  beforeAll(async () => {
    harness = await temporalHarness();
  });
  afterAll(async () => {
    await harness.close();
    const nodes = await core.listNode();
    for (const n of nodes.items.filter((n) => n.metadata?.labels?.['slicer/hostgroup']?.startsWith(prefix))) {
      await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
    }
  });

  function activities(vms: VmProvider) {
    return { ...createVmActivities({ vms, cluster: 'test' }), ...createNodeActivities({ core, pollIntervalMs: 200 }) };
  }

  async function run(vms: VmProvider, count: number, provisionTimeoutMs: number, id: string): Promise<ScaleUpResult> {
    group = `${prefix}-${id}`;
    const worker = await harness.worker(activities(vms));
    const workflowId = scaleUpWorkflowId(group, id);
    try {
      return await worker.runUntil(
        harness.client.workflow.execute('scaleUpWorkflow', {
          taskQueue: harness.taskQueue,
          workflowId,
          args: [{ group, count, reason: 'test', provisionTimeoutMs }],
        }),
      );
    } finally {
      await expectDeterministicReplay(harness.client, workflowId);
    }
  }

  it('creates each VM and returns once every Node is Ready', async () => {
    const vms = new ScriptedVms(registerNode);
    const result = await run(vms, 2, 60_000, 'joins');
    expect(result.joined).toBe(2);
    expect(result.slots.map((s) => s.outcome)).toEqual(['joined', 'joined']);
    expect(vms.created).toHaveLength(2);
    expect(vms.deleted).toEqual([]);
    // Each VM carries its slot's operation tag, so a retried create finds it instead of making another.
    expect(vms.created.map((v) => v.tags[0]).sort()).toEqual([
      `slicer-autoscaler/op=${scaleUpWorkflowId(group, 'joins')}#0`,
      `slicer-autoscaler/op=${scaleUpWorkflowId(group, 'joins')}#1`,
    ]);
  });

  it('deletes a VM that never becomes a Ready Node by the deadline, and keeps its console tail', async () => {
    const vms = new ScriptedVms(registerNode);
    vms.joins = false;
    const result = await run(vms, 1, 3_000, 'never-joins');
    expect(result.joined).toBe(0);
    const slot = result.slots[0]!;
    expect(slot.outcome).toBe('failed');
    if (slot.outcome !== 'failed') throw new Error('unreachable');
    expect(slot.reason).toBe('NodeNotReadyInTime');
    expect(slot.message).toMatch(/no Node registered/);
    expect(slot.consoleTail).toMatch(/failed to connect/);
    expect(slot.vmDeleted).toBe(true);
    expect(vms.deleted).toEqual([slot.hostname]);
  });

  it('finds and deletes a VM whose create answer was lost', async () => {
    const vms = new ScriptedVms(registerNode);
    vms.joins = false;
    vms.loseCreateResponse = true;
    const result = await run(vms, 1, 30_000, 'lost-answer');
    const slot = result.slots[0]!;
    expect(slot.outcome).toBe('failed');
    expect(vms.created).toHaveLength(1);
    expect(vms.deleted).toEqual([vms.created[0]!.hostname]);
  });

  it('refuses malformed input with a message naming the field', async () => {
    const vms = new ScriptedVms(registerNode);
    const err = await run(vms, 0, 1000, 'bad-input').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/count/);
    expect(vms.created).toHaveLength(0);
  });

  it('ignores a Ready Node left by an earlier VM that had the same hostname', async () => {
    // Slicer reuses hostnames: `<group>-1` may come back while the old VM's Node is still around and Ready.
    const staleGroup = `${prefix}-stale`;
    await registerNode(staleGroup, `${staleGroup}-1`);
    await eventually('stale node Ready', async () => {
      const list = await core.listNode({ labelSelector: `slicer/hostgroup=${staleGroup}` });
      return list.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    });
    await new Promise((r) => setTimeout(r, 3500)); // older than the clock tolerance
    const vms = new ScriptedVms(registerNode);
    vms.joins = false;
    const result = await run(vms, 1, 3_000, 'stale');
    const slot = result.slots[0]!;
    expect(vms.created[0]!.hostname).toBe(`${staleGroup}-1`);
    expect(slot.outcome).toBe('failed');
    if (slot.outcome !== 'failed') throw new Error('unreachable');
    expect(slot.message).toMatch(/ignored 1 older Node/);
  });
});
