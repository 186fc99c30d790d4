import { setTimeout as delay } from 'node:timers/promises';
import type { V1Node } from '@kubernetes/client-node';
import { clusterTag, vmIdOfTags } from '../../../src/shared/ids.js';
import type { SimEvent } from '../../../src/simulator/server.js';
import { statusQuery } from '../../../src/workflows/messages.js';
import { kubeClients } from '../helpers/kube.js';
import type { Product } from '../helpers/product.js';
import { ClusterRecorder, type NodeState } from './recorder.js';

// The one checker every fault scenario ends with. It watches from the start of the scenario (Nodes, pods, the
// simulator's log of VMs created, deleted and lost) and, once things have settled, judges:
//   1. every VM of the cluster has exactly one Node and every managed Node exactly one VM;
//   2. no VM of a Ready, in-service Node was deleted, and no such Node object either;
//   3. no pod the planner protects (label PROTECTED_LABEL) and no pod behind a PodDisruptionBudget that allows no
//      disruption (label GUARDED_LABEL) went away, unless the test removed it or its VM was lost under it;
//   4. no managed Node is left cordoned or tainted ToBeDeletedByClusterAutoscaler;
//   5. no group ever had more VMs than max-size, and no deletion took a group below min-size (from the
//      simulator's event log: every change, not samples);
//   6. the evaluator runs, and its books (`status` operations) equal the scale-ups and scale-downs Temporal shows
//      running for the cluster (search attribute AutoscalerCluster).

/** Pods the planner protects carry this label with their kind (bare, not-safe-to-evict, local-storage, system). */
export const PROTECTED_LABEL = 'faults.slicer-autoscaler/protected';
/** Pods behind a PodDisruptionBudget that allows no disruption. */
export const GUARDED_LABEL = 'faults.slicer-autoscaler/guarded';

export interface GroupLimits {
  min: number;
  max: number;
}

export interface Verdict {
  violations: string[];
  /** What the scenario did, for the README table. */
  operations: { scaleUps: number; scaleDowns: number; vmsCreated: number; vmsDeleted: number; vmsLost: number };
  /** Things excused, with why (a pod on a VM the daemon lost, ...). */
  notes: string[];
  /** While settling: each time the reason it was not quiet changed, with seconds since the check began. */
  settling: string[];
}

const OPS_QUERY = (cluster: string) =>
  `AutoscalerCluster = '${cluster}' AND WorkflowType IN ('scaleUpWorkflow', 'scaleDownWorkflow')`;

function inService(s: NodeState): boolean {
  return s.exists && s.ready && !s.unschedulable && !s.toBeDeleted && !s.noSchedule;
}

export interface Monitor {
  /** A pod the test itself deletes: its going is not a violation. */
  expectGone(namespace: string, name: string): void;
  /**
   * Waits until the cluster is quiet (no operation running or booked, no pending pod, every VM paired with a
   * Node) for `quietMs`, at most `timeoutMs`; then judges every invariant. Never throws for a violation.
   */
  check(opts?: { quietMs?: number; timeoutMs?: number }): Promise<Verdict>;
  stop(): void;
}

/** Starts recording; call before the scenario does anything. */
export async function startMonitor(p: Product, limits: Record<string, GroupLimits>): Promise<Monitor> {
  const { kc, core } = kubeClients();
  const recorder = new ClusterRecorder(kc, [p.ns, 'kube-system']);
  await recorder.start();
  const expected = new Set<string>();
  // Every Slicer daemon's log, from where it stood when the scenario began.
  const firstEvent = p.sims.map((sim) => sim.events().length);
  const allVms = () => p.sims.flatMap((sim) => sim.vms());
  const eventsBefore = () => p.sims.flatMap((sim, i) => sim.events().slice(0, firstEvent[i]));
  const eventsSince = () =>
    p.sims.flatMap((sim, i) => sim.events().slice(firstEvent[i])).sort((a, b) => a.at - b.at || a.seq - b.seq);
  const ours = (tags: string[]) => tags.includes(clusterTag(p.cluster));

  async function runningOps(): Promise<string[]> {
    const ids: string[] = [];
    for await (const w of p.client.workflow.list({ query: `${OPS_QUERY(p.cluster)} AND ExecutionStatus = 'Running'` }))
      ids.push(w.workflowId);
    return ids.sort();
  }

  async function booked(): Promise<string[]> {
    return Object.keys((await p.evaluator().query(statusQuery)).operations).sort();
  }

  /**
   * Pairs VMs and Nodes as the product must: a Node with a vm-id label belongs to the VM of that hostname tagged
   * with that vm-id; a Node without one (made by hand or by the incumbent) to the VM of that hostname without a
   * vm-id tag. Returns what is not one-to-one: every VM of the cluster needs exactly one Node, every managed Node
   * exactly one VM, and a VM made outside the autoscaler that had a Node during the scenario must still have it
   * (removing a node removes its machine too).
   */
  function pairing(vms: { hostname: string; group: string; tags: string[] }[], nodes: V1Node[]): string[] {
    const problems: string[] = [];
    const managed = nodes.filter((n) => p.groups.includes(n.metadata?.labels?.['slicer/hostgroup'] ?? ''));
    const matches = (vm: { hostname: string; tags: string[] }, n: V1Node) => {
      const labels = n.metadata?.labels ?? {};
      return labels['slicer/hostname'] === vm.hostname && labels['slicer-autoscaler/vm-id'] === vmIdOfTags(vm.tags);
    };
    const created = (vm: { hostname: string; group: string }) =>
      [...eventsBefore(), ...eventsSince()]
        .filter((e) => e.kind === 'created' && e.hostname === vm.hostname && e.group === vm.group)
        .reduce((t, e) => Math.max(t, e.at), -Infinity);
    const hadNode = (vm: { hostname: string; group: string }) =>
      [...recorder.nodes.values()].some(
        (states) =>
          states[0]!.hostname === vm.hostname &&
          states[0]!.group === vm.group &&
          states[0]!.vmId === undefined &&
          states.some((st) => st.exists && st.at >= created(vm)),
      );
    for (const vm of vms) {
      const found = managed.filter((n) => matches(vm, n)).map((n) => n.metadata!.name!);
      if (ours(vm.tags) ? found.length !== 1 : found.length > 1 || (found.length === 0 && hadNode(vm)))
        problems.push(
          `VM ${vm.hostname} (${vmIdOfTags(vm.tags) ?? (ours(vm.tags) ? 'no vm-id' : 'made by hand')}) has ${found.length} Node(s) [${found.join(', ')}]`,
        );
    }
    for (const n of managed) {
      const found = vms.filter((vm) => matches(vm, n)).map((v) => v.hostname);
      if (found.length !== 1)
        problems.push(
          `Node ${n.metadata!.name} (${n.metadata?.labels?.['slicer/hostname']}) has ${found.length} VM(s) [${found.join(', ')}]`,
        );
    }
    return problems;
  }

  /** Why the cluster is not quiet yet, or undefined when it is. */
  async function unquiet(): Promise<string | undefined> {
    const d = await p.evaluator().describe();
    if (d.status.name !== 'RUNNING') return `the evaluator is ${d.status.name}`;
    const running = await runningOps();
    if (running.length) return `operations running: ${running.join(', ')}`;
    const books = await booked();
    if (books.length) return `the evaluator books operations: ${books.join(', ')}`;
    const pods = (await core.listNamespacedPod({ namespace: p.ns })).items;
    const pending = pods.filter((x) => x.status?.phase === 'Pending' && !x.metadata?.deletionTimestamp);
    if (pending.length) return `pending pods: ${pending.map((x) => x.metadata?.name).join(', ')}`;
    const unpaired = pairing(allVms(), (await core.listNode()).items);
    if (unpaired.length) return unpaired.join('; ');
    return undefined;
  }

  function sizeViolations(events: SimEvent[]): string[] {
    const out: string[] = [];
    // Live VMs by daemon and hostname, from the very first event of each simulator, so VMs made before the
    // monitor started count.
    const live = new Map<string, SimEvent>();
    const apply = (e: SimEvent) => {
      const key = `${e.group}/${e.hostname}`;
      if (e.kind === 'created') live.set(key, e);
      else live.delete(key);
    };
    const size = (group: string) => [...live.values()].filter((v) => v.group === group).length;
    for (const e of eventsBefore()) apply(e);
    for (const e of events) {
      const before = size(e.group);
      apply(e);
      const after = size(e.group);
      const lim = limits[e.group];
      if (!lim) continue;
      if (e.kind === 'created' && after > lim.max) {
        const slot = e.tags.find((t) => t.startsWith('slicer-autoscaler/op='));
        const twins = slot ? [...live.values()].filter((v) => v.tags.includes(slot)).map((v) => v.hostname) : [];
        out.push(
          `group ${e.group} had ${after} VMs, max-size is ${lim.max} (created ${e.hostname} at ${iso(e.at)}` +
            (slot ? `; VMs of its slot ${slot.slice('slicer-autoscaler/op='.length)}: ${twins.join(', ')})` : ')'),
        );
      }
      if (e.kind === 'deleted' && after < lim.min && before >= lim.min)
        out.push(
          `deleting ${e.hostname} at ${iso(e.at)} took group ${e.group} to ${after} VM(s), min-size is ${lim.min}`,
        );
    }
    return out;
  }

  function deletionViolations(events: SimEvent[]): string[] {
    const out: string[] = [];
    for (const e of events) {
      if (e.kind !== 'deleted') continue;
      // The Node the VM joined as; if the simulator had not heard back yet, the one the recorder saw with its vm-id.
      const id = vmIdOfTags(e.tags);
      const names = e.nodeName
        ? [e.nodeName]
        : [...recorder.nodes.entries()]
            .filter(([, states]) => states.some((s) => s.hostname === e.hostname && s.vmId === id))
            .map(([name]) => name);
      for (const name of names) {
        const s = recorder.nodeAt(name, e.at);
        if (s && inService(s))
          out.push(`VM ${e.hostname} deleted at ${iso(e.at)} while its Node ${name} was Ready and in service`);
      }
    }
    for (const [name, states] of recorder.nodes) {
      if (!p.groups.includes(states[0]?.group ?? '')) continue;
      for (let i = 1; i < states.length; i++) {
        if (!states[i]!.exists && inService(states[i - 1]!))
          out.push(`Node ${name} deleted at ${iso(states[i]!.at)} while Ready and in service`);
      }
    }
    return out;
  }

  function podViolations(events: SimEvent[], notes: string[]): string[] {
    const out: string[] = [];
    const lostNodes = new Map(events.filter((e) => e.kind === 'lost' && e.nodeName).map((e) => [e.nodeName!, e.at]));
    for (const gone of recorder.podsGone) {
      if (expected.has(gone.key)) continue;
      const kind = gone.labels[PROTECTED_LABEL] ?? (gone.labels[GUARDED_LABEL] ? 'behind a PDB' : undefined);
      if (!kind) continue;
      const lostAt = gone.node ? lostNodes.get(gone.node) : undefined;
      if (lostAt !== undefined && lostAt <= gone.at) {
        notes.push(`pod ${gone.key} (${kind}) went with its VM, lost in a daemon restart`);
        continue;
      }
      out.push(`pod ${gone.key} (${kind}) on ${gone.node ?? '(no node)'} went away at ${iso(gone.at)}`);
    }
    return out;
  }

  return {
    expectGone(namespace, name) {
      expected.add(`${namespace}/${name}`);
    },
    async check(opts = {}) {
      const quietMs = opts.quietMs ?? 3000;
      const begun = Date.now();
      const deadline = begun + (opts.timeoutMs ?? 120_000);
      const violations: string[] = [];
      const notes: string[] = [];
      const settling: string[] = [];
      let quietSince: number | undefined;
      let why: string | undefined = 'not checked yet';
      while (Date.now() < deadline) {
        const before: string | undefined = why;
        why = await unquiet().catch((err: unknown) => `checking failed: ${(err as Error).message}`);
        if (why !== before && why) settling.push(`${((Date.now() - begun) / 1000).toFixed(1)}s ${why.slice(0, 300)}`);
        if (why) quietSince = undefined;
        else if (quietSince === undefined) quietSince = Date.now();
        else if (Date.now() - quietSince >= quietMs) break;
        await delay(500);
      }
      if (why || quietSince === undefined || Date.now() - quietSince < quietMs)
        violations.push(`did not settle within ${opts.timeoutMs ?? 120_000} ms: ${why ?? 'not quiet long enough'}`);

      const nodes = (await core.listNode()).items;
      // 1. VM <-> Node, one to one.
      violations.push(...pairing(allVms(), nodes));
      // 4. Nothing left cordoned or tainted.
      for (const n of nodes) {
        if (!p.groups.includes(n.metadata?.labels?.['slicer/hostgroup'] ?? '')) continue;
        if (n.spec?.unschedulable) violations.push(`Node ${n.metadata!.name} left cordoned`);
        if (n.spec?.taints?.some((t) => t.key === 'ToBeDeletedByClusterAutoscaler'))
          violations.push(`Node ${n.metadata!.name} left tainted ToBeDeletedByClusterAutoscaler`);
      }
      // 6. The evaluator runs and its books match Temporal's (looked at twice: a finish may be in flight).
      const d = await p.evaluator().describe();
      if (d.status.name !== 'RUNNING') violations.push(`the evaluator is ${d.status.name}`);
      else {
        let books = await booked();
        let running = await runningOps();
        for (let i = 0; i < 20 && books.join() !== running.join(); i++) {
          await delay(500);
          [books, running] = [await booked(), await runningOps()];
        }
        if (books.join() !== running.join())
          violations.push(`the evaluator books [${books.join(', ')}] but Temporal runs [${running.join(', ')}]`);
      }
      const dropped = p.sims.reduce((n, sim) => n + sim.eventsDropped(), 0);
      if (dropped) violations.push(`the simulator dropped ${dropped} events: sizes and deletions cannot be proven`);
      const events = eventsSince();
      // 2, 3, 5.
      violations.push(...deletionViolations(events), ...podViolations(events, notes), ...sizeViolations(events));
      if (recorder.gaps()) notes.push(`the recorder's watches broke ${recorder.gaps()} time(s) and re-listed`);

      const count = async (type: string) =>
        (await p.client.workflow.count(`${OPS_QUERY(p.cluster)} AND WorkflowType = '${type}'`)).count;
      return {
        violations,
        notes,
        settling: settling.slice(-20),
        operations: {
          scaleUps: await count('scaleUpWorkflow'),
          scaleDowns: await count('scaleDownWorkflow'),
          vmsCreated: events.filter((e) => e.kind === 'created').length,
          vmsDeleted: events.filter((e) => e.kind === 'deleted').length,
          vmsLost: events.filter((e) => e.kind === 'lost').length,
        },
      };
    },
    stop() {
      recorder.stop();
    },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}
