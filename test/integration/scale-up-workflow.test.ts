import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeActivities } from '../../src/activities/nodes.js';
import { createVmActivities } from '../../src/activities/vms.js';
import type { VmProvider } from '../../src/activities/vm-provider.js';
import { scaleUpWorkflowId } from '../../src/shared/ids.js';
import type { ScaleUpResult } from '../../src/workflows/scale-up.js';
import { eventually, kubeClients, kwokNode } from './helpers/kube.js';
import { expectDeterministicReplay, temporalHarness } from './helpers/temporal.js';

// The scale-up workflow on the real Temporal server and the real apiserver, with a scripted VM provider so each
// Slicer behaviour (a VM that joins, one that never does, a create whose answer is lost) can be forced. The
// simulator-backed end-to-end test covers the same path with the real Slicer wire protocol.

class ScriptedVms implements VmProvider {
  readonly created: { group: string; hostname: string; tags: string[]; createdAtMs: number }[] = [];
  readonly deleted: string[] = [];
  /** Hostnames whose VM "joins": the provider registers a KWOK Node for them. */
  joins = true;
  /** Throw a final error after creating the VM, as if the response was lost and the retry refused. */
  loseCreateResponse = false;
  /** The first create makes its VM but the call times out on our side (the answer never arrives). */
  firstCreateTimesOut = false;
  constructor(
    private readonly register: (group: string, hostname: string, labels: Record<string, string>) => Promise<void>,
  ) {}

  private live() {
    return this.created.filter((v) => !this.deleted.includes(v.hostname));
  }
  async findVmsByTag(_group: string, tag: string) {
    return this.live().filter((v) => v.tags.includes(tag));
  }
  async listVms() {
    return this.live();
  }
  async createVm(group: string, opts: { tags: string[]; labels?: Record<string, string> }) {
    const hostname = `${group}-${this.created.length + 1}`;
    this.created.push({ group, hostname, tags: opts.tags, createdAtMs: Date.now() });
    if (this.joins) await this.register(group, hostname, opts.labels ?? {});
    if (this.loseCreateResponse) throw ApplicationFailure.nonRetryable('create answered 400 on retry', 'SlicerFinal');
    if (this.firstCreateTimesOut && this.created.length === 1)
      throw ApplicationFailure.retryable('POST /hostgroup/g/nodes: Slicer did not answer in time', 'SlicerRetryable');
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

  const registerNode = async (g: string, hostname: string, labels: Record<string, string> = {}) => {
    await core.createNode({
      body: kwokNode(`${hostname}-${randomBytes(4).toString('hex')}`, {
        cpu: '2',
        memory: '4Gi',
        labels: { 'slicer/hostgroup': g, 'slicer/hostname': hostname, ...labels },
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
    return { ...createVmActivities({ vms, cluster: 'test', core }), ...createNodeActivities({ core }) };
  }

  async function run(vms: VmProvider, count: number, provisionTimeoutMs: number, id: string): Promise<ScaleUpResult> {
    group = `${prefix}-${id}`;
    const worker = await harness.worker(activities(vms));
    const workflowId = scaleUpWorkflowId(group, 'test', id);
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

  it('creates each VM and returns once every Node is usable', async () => {
    const vms = new ScriptedVms(registerNode);
    const result = await run(vms, 2, 60_000, 'joins');
    expect(result.joined).toBe(2);
    expect(result.slots.map((s) => s.outcome)).toEqual(['joined', 'joined']);
    expect(vms.created).toHaveLength(2);
    expect(vms.deleted).toEqual([]);
    // Each VM carries its slot's operation tag, so a retried create finds it instead of making another.
    expect(vms.created.map((v) => v.tags[0]).sort()).toEqual([
      `slicer-autoscaler/op=${scaleUpWorkflowId(group, 'test', 'joins')}#0`,
      `slicer-autoscaler/op=${scaleUpWorkflowId(group, 'test', 'joins')}#1`,
    ]);
    // ...and its own identity, which its Node joins with: the link no reused hostname can fake.
    for (const s of result.slots) {
      if (s.outcome !== 'joined') throw new Error('unreachable');
      const node = await core.readNode({ name: s.node });
      expect(node.metadata?.labels?.['slicer-autoscaler/vm-id']).toBe(s.vmId);
      expect(vms.created.find((v) => v.hostname === s.hostname)!.tags).toContain(`slicer-autoscaler/vm=${s.vmId}`);
    }
  });

  it('keeps exactly one VM for a slot whose first create completed after the client gave up (safety item 12)', async () => {
    const vms = new ScriptedVms(registerNode);
    vms.joins = false;
    vms.firstCreateTimesOut = true;
    // The retried create finds the first VM by its tag and adopts it instead of making a second one.
    const result = await run(vms, 1, 3_000, 'late-create');
    expect(vms.created).toHaveLength(1);
    expect(result.slots[0]!.outcome).toBe('failed');
    expect(vms.deleted).toEqual([vms.created[0]!.hostname]);
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

  it('returns a bounded result for many failed VMs: failures first, one console tail, the rest counted', async () => {
    const vms = new ScriptedVms(registerNode);
    vms.joins = false;
    const result = await run(vms, 8, 3_000, 'many-fail');
    expect(vms.created).toHaveLength(8);
    expect([...vms.deleted].sort()).toEqual(vms.created.map((v) => v.hostname).sort());
    expect(result).toMatchObject({ requested: 8, joined: 0, omittedSlots: 3 });
    expect(result.slots.map((s) => s.slot)).toEqual([0, 1, 2, 3, 4]);
    const tails = result.slots.map((s) => (s.outcome === 'failed' ? s.consoleTail : 'joined'));
    expect(tails[0]).toMatch(/failed to connect/);
    expect(tails.slice(1)).toEqual([undefined, undefined, undefined, undefined]);
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

  it('ignores a Ready Node left by an earlier VM that had the same hostname (it lacks this VM’s identity)', async () => {
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
    expect(slot.message).toMatch(/no Node registered/);
    // The old Node was not this slot's: it is still there.
    const list = await core.listNode({ labelSelector: `slicer/hostgroup=${staleGroup}` });
    expect(list.items).toHaveLength(1);
  });
});
