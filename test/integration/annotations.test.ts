import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SCALE_DOWN_ANNOTATION, SCALE_UP_ANNOTATION } from '../../src/kube/annotations.js';
import { loadToolPaths } from '../../src/stack/tools.js';
import { pauseUpdate, resumeUpdate } from '../../src/workflows/messages.js';
import { eventually, kubeClients } from './helpers/kube.js';
import './helpers/temporal.js';
import { simulatedCluster } from './helpers/worker.js';

// The "why" where kubectl users look: the scale-up verdict on pending pods and the scale-down verdict on managed
// Nodes, kept current and removed when they no longer apply, read back with the real kubectl.

const execFileAsync = promisify(execFile);

describe('reasons as annotations', () => {
  const { core } = kubeClients();
  let env: Awaited<ReturnType<typeof simulatedCluster>>;
  let ns = '';
  const pod = (name: string, cpu: string): V1Pod => ({
    metadata: { name },
    spec: {
      nodeSelector: { 'slicer/hostgroup': env.group },
      containers: [{ name: 'c', image: 'registry.invalid/c:1', resources: { requests: { cpu } } }],
    },
  });
  const annotation = async (name: string) =>
    (await core.readNamespacedPod({ name, namespace: ns })).metadata?.annotations?.[SCALE_UP_ANNOTATION];

  beforeAll(async () => {
    // Ten minutes unneeded before removal, so the node shows its countdown for the whole test.
    env = await simulatedCluster({
      prefix: 'annot',
      global: ['scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=0s'],
    });
    ns = env.ns;
  });

  afterAll(async () => {
    await env?.stop();
  });

  it('puts the scale-up verdict on pending pods, updates it, and removes it once the pod runs', async () => {
    const evaluator = env.evaluator();
    await evaluator.executeUpdate(pauseUpdate, { args: [{ reason: 'annotation test' }] });
    await core.createNamespacedPod({ namespace: ns, body: pod('too-big', '6') });
    await core.createNamespacedPod({ namespace: ns, body: pod('web', '500m') });
    expect(await eventually('the paused verdict on web', async () => annotation('web'))).toMatch(/^AutoscalerPaused: /);
    expect(await eventually('the paused verdict on too-big', async () => annotation('too-big'))).toMatch(
      /^AutoscalerPaused: /,
    );
    await evaluator.executeUpdate(resumeUpdate, { args: [{}] });
    // Updated: the pod no host can run now says why.
    expect(
      await eventually('the verdict on too-big', async () => {
        const v = await annotation('too-big');
        return v?.startsWith('TooBigForEveryTemplate') ? v : undefined;
      }),
    ).toMatch(/^TooBigForEveryTemplate: requests 6 CPU.*4 CPU short/);
    // Removed: web got its VM and runs.
    await eventually(
      'web Running, its annotation removed',
      async () => {
        const p = await core.readNamespacedPod({ name: 'web', namespace: ns });
        return p.status?.phase === 'Running' && p.metadata?.annotations?.[SCALE_UP_ANNOTATION] === undefined;
      },
      60_000,
    );
    // The pod no group can run keeps its reason.
    expect(await annotation('too-big')).toMatch(/^TooBigForEveryTemplate: /);
  });

  it('puts the scale-down verdict on the managed node, readable with kubectl describe', async () => {
    const [node] = (await core.listNode({ labelSelector: `slicer/hostgroup=${env.group}` })).items;
    const name = node!.metadata!.name!;
    const nodeSays = async () => (await core.readNode({ name })).metadata?.annotations?.[SCALE_DOWN_ANNOTATION];
    // A bare pod holds the node: nothing would recreate it elsewhere.
    expect(await eventually('the blocker on the node', nodeSays)).toBe(
      `NotReplicated: pod ${ns}/web has no controller to recreate it elsewhere`,
    );
    await core.deleteNamespacedPod({ name: 'web', namespace: ns, gracePeriodSeconds: 0 });
    let last: string | undefined;
    const value = await eventually('the countdown on the node', async () => {
      last = (await core.readNode({ name })).metadata?.annotations?.[SCALE_DOWN_ANNOTATION];
      return last?.startsWith('NotUnneededLongEnough') ? last : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; the node says ${last}`);
    });
    expect(value).toMatch(/^NotUnneededLongEnough \d+m left$/);
    const { stdout } = await execFileAsync(loadToolPaths().kubectl, [
      '--kubeconfig',
      inject('kubeconfigPath'),
      'describe',
      'node',
      name,
    ]);
    expect(stdout).toMatch(new RegExp(`slicer-autoscaler/scale-down: NotUnneededLongEnough \\d+m left`));
    // Nodes we do not manage never get one.
    const others = (await core.listNode()).items.filter((n) => !n.metadata?.labels?.['slicer/hostgroup']);
    expect(others.map((n) => n.metadata?.annotations?.[SCALE_DOWN_ANNOTATION]).filter(Boolean)).toEqual([]);
  });
});
