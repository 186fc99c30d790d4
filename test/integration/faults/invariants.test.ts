import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { clusterTag } from '../../../src/shared/ids.js';
import { createSlicerClient } from '../../../src/slicer/client.js';
import { buildUserdata } from '../../../src/slicer/userdata.js';
import { pauseUpdate } from '../../../src/workflows/messages.js';
import { AutoscalerClusterKey } from '../../../src/workflows/search-attributes.js';
import { eventually, isReady, kubeClients } from '../helpers/kube.js';
import { finish, startScenario, type Scenario } from './harness.js';
import { protectedPods, Workload } from './workload.js';

// The checker itself: every invariant it judges is broken here on purpose, by hand, with the autoscaler paused,
// and each breach must be reported. A fault scenario that passes therefore passed a checker that can fail.

describe('fault suite: the invariant checker', () => {
  const { core } = kubeClients();
  let s: Scenario | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    s?.monitor.stop();
    await s?.p.stop();
    s = undefined;
  });

  it('reports each invariant broken by hand', async () => {
    const t0 = Date.now();
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 3, max: 3 }] });
    const { p, monitor } = s;
    const group = p.groups[0]!;
    const web = new Workload(p, group, '1500m');
    await web.create();
    await web.scale(3);
    expect(await web.settled(60_000)).toBe(true);
    cleanups.push(await protectedPods(p, group, monitor));
    await eventually('the protected pods to run', async () => {
      const pods = (await core.listNamespacedPod({ namespace: p.ns })).items;
      return pods.find((x) => x.metadata?.name === 'bare-a')?.status?.phase === 'Running';
    });
    await p.evaluator().executeUpdate(pauseUpdate, { args: [{ reason: 'the test breaks things by hand' }] });
    const slicer = createSlicerClient({ url: p.sim.url, token: new Secret(p.simToken) });
    cleanups.push(() => slicer.close());
    const [a, b, c] = (await p.nodes()).filter(isReady).map((n) => n.metadata!);

    // 5: a VM past max-size (with our cluster tag, so it must also pair with a Node; it joins).
    await slicer.createVm(group, {
      tags: [clusterTag(p.cluster)],
      userdata: buildUserdata({ group, k3sUrl: 'https://127.0.0.1:6443', labels: {}, taints: [] }),
    });
    // 2 and 1: the VM of a Ready, in-service Node, deleted; its Node is left without a VM.
    await slicer.deleteVm(group, a!.labels!['slicer/hostname']!);
    // 5: below min-size (4 VMs, then 3, now 2).
    await slicer.deleteVm(group, b!.labels!['slicer/hostname']!);
    // 2: a Ready, in-service Node object deleted.
    await core.deleteNode({ name: c!.name! });
    // 3: a protected pod and a guarded one go.
    await core.deleteNamespacedPod({ name: 'bare-a', namespace: p.ns });
    const [guarded] = (await core.listNamespacedPod({ namespace: p.ns, labelSelector: 'rs=guarded-a' })).items;
    await core.deleteNamespacedPod({ name: guarded!.metadata!.name!, namespace: p.ns });
    // 4: a Node left cordoned and tainted.
    const joined = await eventually('the hand-made VM to join', async () =>
      (await p.nodes()).find((n) => !n.metadata?.labels?.['slicer-autoscaler/vm-id'] && isReady(n)),
    );
    await core.patchNode({
      name: joined.metadata!.name!,
      body: [
        { op: 'add', path: '/spec/unschedulable', value: true },
        {
          op: 'add',
          path: '/spec/taints',
          value: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }],
        },
      ],
    });
    // 6: an operation of this cluster that the evaluator never booked (on a queue nobody polls).
    const ghost = await p.client.workflow.start('scaleDownWorkflow', {
      taskQueue: `nobody-${randomBytes(3).toString('hex')}`,
      workflowId: `scale-down/ghost-${p.cluster}`,
      args: [{ node: 'ghost', group, hostname: 'ghost', drainTimeoutMs: 60_000 }],
      typedSearchAttributes: [{ key: AutoscalerClusterKey, value: p.cluster }],
    });
    cleanups.push(() => ghost.terminate('test over').then(() => undefined));

    const verdict = await finish('the checker, with every invariant broken by hand', s, t0, {
      timeoutMs: 5000,
      quietMs: 1000,
    });
    const expected = [
      /^did not settle/,
      new RegExp(`^Node ${a!.name} \\(.*\\) has 0 VM`),
      new RegExp(
        `^VM ${a!.labels!['slicer/hostname']} deleted at .* while its Node ${a!.name} was Ready and in service`,
      ),
      new RegExp(`^Node ${c!.name} deleted at .* while Ready and in service`),
      new RegExp(`^pod ${p.ns}/bare-a \\(bare\\) on .* went away`),
      new RegExp(`^pod ${p.ns}/${guarded!.metadata!.name} \\(behind a PDB\\) on .* went away`),
      new RegExp(`^Node ${joined.metadata!.name} left cordoned`),
      new RegExp(`^Node ${joined.metadata!.name} left tainted ToBeDeletedByClusterAutoscaler`),
      new RegExp(`^group ${group} had 4 VMs, max-size is 3`),
      new RegExp(`^deleting ${b!.labels!['slicer/hostname']} at .* took group ${group} to 2 VM\\(s\\), min-size is 3`),
      new RegExp(`^the evaluator books \\[.*\\] but Temporal runs \\[.*scale-down/ghost-${p.cluster}.*\\]`),
    ];
    for (const re of expected)
      expect(
        verdict.violations.some((v) => re.test(v)),
        String(re),
      ).toBe(true);
  }, 180_000);
});
