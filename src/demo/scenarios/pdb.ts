import { TO_BE_DELETED_TAINT } from '../../activities/drain.js';
import { drainNodeUpdate } from '../../workflows/messages.js';
import type { ScaleDownResult } from '../../workflows/scale-down.js';
import type { Scenario } from '../harness.js';
import { deployment, running } from './workload.js';

const GROUP = 'slicer-x86';

/**
 * A drain that a PodDisruptionBudget blocks: two web pods whose budget allows no disruption share one VM; an
 * operator drains that node; every eviction is refused, and at the 15 s drain timeout the node is put back in
 * service (taint off, uncordoned) with both pods still running.
 */
export const pdb: Scenario = {
  name: 'pdb',
  summary: 'a drain blocked by a PodDisruptionBudget rolls back',
  groups: [{ name: GROUP, cpus: 2, ramGiB: 4, arch: 'x86_64', ini: ['drain-timeout = 15s'] }],
  global: [
    'default-min-size = 0',
    'default-max-size = 3',
    'node-provision-timeout = 60s',
    'scale-down-unneeded-time = 10s',
  ],
  flags: ['--scan-interval=2s', '--scale-down-delay-after-add=5s'],
  async play(ctx) {
    ctx.say('2 web pods of 600m arrive, with a PodDisruptionBudget of minAvailable 2 (no disruption allowed)');
    await ctx.apps.createNamespacedDeployment({
      namespace: ctx.namespace,
      body: deployment('web', 2, { cpu: '600m', memory: '256Mi' }),
    });
    await ctx.policy.createNamespacedPodDisruptionBudget({
      namespace: ctx.namespace,
      body: { metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } },
    });
    const pods = await ctx.until('2 web pods Running', async () => {
      const r = running(await ctx.podsOf('app=web'));
      return r.length === 2 && r[0]!.spec?.nodeName === r[1]!.spec?.nodeName ? r : undefined;
    });
    const node = pods[0]!.spec!.nodeName!;
    ctx.say(`both on ${node}; operator: drain ${node}`);
    const { workflowId } = await ctx.evaluator.executeUpdate(drainNodeUpdate, {
      args: [{ node, reason: 'pdb scenario: drain a node whose pods may not be disrupted' }],
    });
    const result = (await ctx.client.workflow.getHandle(workflowId).result()) as ScaleDownResult;
    const blocked = result.outcome === 'rolled-back' ? (Object.values(result.blocked)[0] ?? '') : '';
    ctx.say(
      result.outcome === 'rolled-back'
        ? `${workflowId}: ${result.reason}; evictions refused ("${blocked}"); rolled back`
        : `${workflowId}: ${result.outcome}?!`,
    );
    const back = await ctx.until(`${node} back in service`, async () => {
      const n = await ctx.core.readNode({ name: node });
      return !n.spec?.unschedulable && !n.spec?.taints?.some((t) => t.key === TO_BE_DELETED_TAINT) ? n : undefined;
    });
    const still = running(await ctx.podsOf('app=web')).filter((p) => p.spec?.nodeName === node).length;
    ctx.say(`${node} uncordoned and untainted; ${still} web pods still Running on it`);
    const ok =
      result.outcome === 'rolled-back' &&
      result.reason === 'DrainTimeout' &&
      /disruption budget/i.test(blocked) &&
      still === 2 &&
      !!back;
    return {
      ok,
      what:
        `drain of ${node} ${result.outcome === 'rolled-back' ? `blocked by PodDisruptionBudget web ("${blocked.slice(0, 70)}")` : `ended ${result.outcome}`}` +
        `; rolled back at the 15s drain timeout: node back in service, ${still}/2 web pods Running`,
    };
  },
};
