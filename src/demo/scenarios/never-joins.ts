import type { ScaleUpResult } from '../../workflows/scale-up.js';
import { statusQuery } from '../../workflows/messages.js';
import type { Scenario } from '../harness.js';
import { deployment, running } from './workload.js';

const FAST = 'slicer-fast';
const STEADY = 'slicer-steady';

/**
 * A VM that boots but never becomes a Node. The priority expander sends the first scale-up to slicer-fast, whose
 * VMs never join; at its 15 s provision timeout the VM is deleted with its console tail kept, slicer-fast backs off,
 * and the next evaluation sends the same pods to slicer-steady.
 */
export const neverJoins: Scenario = {
  name: 'never-joins',
  summary: 'a VM that never joins: deleted at the provision timeout, its group backs off, the other group serves',
  groups: [
    {
      name: FAST,
      cpus: 4,
      ramGiB: 8,
      arch: 'x86_64',
      ini: ['priority = 10', 'node-provision-timeout = 15s'],
      faults: { neverJoin: 'all' },
    },
    { name: STEADY, cpus: 4, ramGiB: 8, arch: 'x86_64', ini: ['priority = 0'] },
  ],
  global: [
    'default-min-size = 0',
    'default-max-size = 4',
    'expander = priority',
    'node-provision-timeout = 60s',
    'scale-down-unneeded-time = 10s',
  ],
  flags: ['--scan-interval=2s', '--scale-down-delay-after-add=5s'],
  async play(ctx) {
    const fast = ctx.g(FAST);
    const steady = ctx.g(STEADY);
    ctx.say(`3 api pods of 1 CPU / 1 GiB arrive; ${FAST} has priority 10, and its VMs never join`);
    await ctx.apps.createNamespacedDeployment({
      namespace: ctx.namespace,
      body: deployment('api', 3, { cpu: '1', memory: '1Gi' }),
    });
    const opId = await ctx.until('a scale-up of slicer-fast', async () => {
      const s = await ctx.evaluator.query(statusQuery);
      return Object.entries(s.operations).find(([, o]) => o.kind === 'scale-up' && o.group === fast)?.[0];
    });
    ctx.say(`${opId} started; its VM boots but its k3s agent never registers`);
    const result = (await ctx.client.workflow.getHandle(opId).result()) as ScaleUpResult;
    const failed = result.slots.find((s) => s.outcome === 'failed');
    const tail = failed?.outcome === 'failed' ? ((failed.consoleTail ?? '').trim().split('\n').at(-1) ?? '') : '';
    if (failed?.outcome === 'failed')
      ctx.say(
        `${failed.hostname ?? 'the VM'}: ${failed.reason}; VM ${failed.vmDeleted ? 'deleted' : 'NOT deleted'}; console tail ends "${tail}"`,
      );
    const backoff = await ctx.until(
      'slicer-fast in backoff',
      async () => (await ctx.evaluator.query(statusQuery)).backoff[fast],
    );
    ctx.say(
      `${FAST} backs off for ${Math.round((backoff.until - Date.now()) / 60_000)}m (${backoff.failures} failure)`,
    );
    const pods = await ctx.until('3 api pods Running', async () => {
      const r = running(await ctx.podsOf('app=api'));
      return r.length === 3 ? r : undefined;
    });
    const steadyNodes = new Set((await ctx.nodesOf(steady)).map((n) => n.metadata!.name!));
    const onSteady = pods.filter((p) => steadyNodes.has(p.spec?.nodeName ?? '')).length;
    ctx.say(`${onSteady} api pods Running on ${steadyNodes.size} ${STEADY} VM(s)`);
    const fastVms = ctx.sims[fast]!.vms().length;
    const ok =
      failed?.outcome === 'failed' &&
      failed.reason === 'NodeNotReadyInTime' &&
      failed.vmDeleted &&
      tail.length > 0 &&
      onSteady === 3 &&
      fastVms === 0;
    return {
      ok,
      what:
        `${failed?.hostname ?? 'no VM'} never joined: ${failed?.outcome === 'failed' ? failed.reason : 'no failure recorded'}, ` +
        `deleted at the 15s timeout with its console tail ("${tail.slice(0, 60)}"); ${FAST} backed off ` +
        `(${backoff.failures} failure); ${STEADY} served ${onSteady}/3 pods on ${steadyNodes.size} VM(s)`,
    };
  },
};
