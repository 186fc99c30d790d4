import { statusQuery } from '../../workflows/messages.js';
import type { Scenario } from '../harness.js';
import { deployment, running } from './workload.js';

const GROUP = 'slicer-x86';

/**
 * A Slicer daemon restart: every VM is lost and their Nodes go NotReady. The orphan sweep (every 5 s here; 5 min by
 * default) deletes the Nodes whose VM is gone, the pods on them are garbage-collected and recreated, and new VMs
 * bring the workload back.
 */
export const slicerRestart: Scenario = {
  name: 'slicer-restart',
  summary: 'a daemon loses its VMs: stale Nodes go, capacity returns',
  groups: [{ name: GROUP, cpus: 2, ramGiB: 4, arch: 'x86_64' }],
  global: [
    'default-min-size = 0',
    'default-max-size = 4',
    'node-provision-timeout = 60s',
    'scale-down-unneeded-time = 30s',
  ],
  flags: ['--scan-interval=2s', '--scale-down-delay-after-add=5s'],
  reconcileIntervalMs: 5000,
  async play(ctx) {
    const group = ctx.g(GROUP);
    ctx.say('3 worker pods of 1500m arrive: one per 2-vCPU VM');
    await ctx.apps.createNamespacedDeployment({
      namespace: ctx.namespace,
      body: deployment('worker', 3, { cpu: '1500m', memory: '1Gi' }),
    });
    await ctx.until('3 worker pods Running', async () => running(await ctx.podsOf('app=worker')).length === 3);
    const before = (await ctx.nodesOf(group)).map((n) => n.metadata!.name!);
    ctx.say(`running on ${before.join(', ')}; now the Slicer daemon restarts and loses every VM`);
    const restartedAt = Date.now();
    await ctx.sims[group]!.restart();
    await ctx.until(
      'the stale Nodes deleted',
      async () => {
        const names = new Set((await ctx.nodesOf(group)).map((n) => n.metadata!.name!));
        return before.every((n) => !names.has(n));
      },
      60_000,
    );
    const swept = (await ctx.evaluator.query(statusQuery)).orphans.filter(
      (o) => o.action === 'deleted-node' && before.includes(o.node ?? ''),
    );
    ctx.say(`the orphan sweep deleted ${swept.length} stale Node(s): ${swept[0]?.reason ?? ''}`);
    const pods = await ctx.until(
      '3 worker pods Running again on new VMs',
      async () => {
        const r = running(await ctx.podsOf('app=worker'));
        return r.length === 3 && r.every((p) => !before.includes(p.spec?.nodeName ?? '')) ? r : undefined;
      },
      100_000,
    );
    const back = Math.round((Date.now() - restartedAt) / 1000);
    const nodes = new Set(pods.map((p) => p.spec!.nodeName!));
    ctx.say(`capacity back ${back}s after the restart: 3 pods on ${nodes.size} new VM(s)`);
    return {
      ok: swept.length === before.length && nodes.size === 3,
      what:
        `the daemon restart lost ${before.length} VMs; the orphan sweep deleted ${swept.length} stale Node(s); ` +
        `${nodes.size} new VMs ran the 3 pods again ${back}s after the restart`,
    };
  },
};
