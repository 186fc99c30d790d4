import { HOSTGROUP_LABEL } from '../../kube/nodes.js';
import type { Scenario, ScenarioContext } from '../harness.js';
import { controlPlaneNode, deployment, isReady, running, scale, spread } from './workload.js';

const A1 = 'k3s-agents-1';
const A2 = 'k3s-agents-2';

async function nodeGroups(ctx: ScenarioContext): Promise<Map<string, string>> {
  const nodes = (await ctx.core.listNode({ labelSelector: HOSTGROUP_LABEL })).items;
  return new Map(nodes.map((n) => [n.metadata!.name!, n.metadata!.labels![HOSTGROUP_LABEL]!]));
}

/**
 * The Slicer guide's demo (docs.slicervm.com, "Autoscaling Kubernetes (k3s) with Cluster Autoscaler"): a tainted
 * 3-node control plane, agents of 2 vCPU / 4 GiB on an x86 host and a Raspberry Pi (max-size 4), the expander the
 * guide's Helm values set (random), and its `sleep` Deployment of 50m / 50Mi scaled 100 -> 300 -> 400 -> 1.
 * One change: k3s-agents-1 has max-size 8 (the guide: 10), so 400 pods (10 VMs) must use both hosts.
 */
export const docs: Scenario = {
  name: 'docs',
  summary: "the Slicer guide's demo: sleep 100 -> 300 -> 400 -> 1 across two host groups",
  groups: [
    { name: A1, cpus: 2, ramGiB: 4, arch: 'x86_64', ini: ['max-size = 8'] },
    { name: A2, cpus: 2, ramGiB: 4, arch: 'aarch64', ini: ['max-size = 4'] },
  ],
  global: [
    'default-min-size = 0',
    'default-max-size = 10',
    'expander = random',
    'node-provision-timeout = 60s',
    // The guide uses 30s; 10s keeps the scenario well under two minutes.
    'scale-down-unneeded-time = 10s',
  ],
  flags: ['--scan-interval=2s', '--scale-down-delay-after-add=5s', '--expendable-pods-priority-cutoff=-10'],
  async play(ctx) {
    const t0 = Date.now();
    const secs = () => `${Math.round((Date.now() - t0) / 1000)}s`;
    const cp = [1, 2, 3].map((i) => `${ctx.g('slicer-cp')}-${i}`);
    for (const name of cp) {
      await ctx.core.createNode({ body: controlPlaneNode(name) });
      ctx.ownNodes.push(name);
    }
    await ctx.until('the control plane Ready', async () => {
      const nodes = await Promise.all(cp.map((name) => ctx.core.readNode({ name })));
      return nodes.every(isReady);
    });
    ctx.say('control plane: 3 nodes of 2 vCPU / 4 GiB, tainted slicer-cp=true:NoSchedule as the guide does');
    await ctx.apps.createNamespacedDeployment({
      namespace: ctx.namespace,
      body: deployment('sleep', 1, { cpu: '50m', memory: '50Mi' }),
    });
    let peak: Record<string, number> = {};
    for (const replicas of [100, 300, 400]) {
      ctx.say(`kubectl scale deployment sleep --replicas=${replicas}`);
      await scale(ctx, 'sleep', replicas);
      const pods = await ctx.until(
        `${replicas} sleep pods Running`,
        async () => {
          const r = running(await ctx.podsOf('app=sleep'));
          return r.length === replicas ? r : undefined;
        },
        100_000,
      );
      peak = spread(pods, await nodeGroups(ctx));
      ctx.say(
        `${replicas} pods Running at ${secs()} on ${Object.values(peak).reduce((a, b) => a + b, 0)} VM(s): ${A1} ${peak[ctx.g(A1)] ?? 0}, ${A2} ${peak[ctx.g(A2)] ?? 0}`,
      );
    }
    const onControlPlane = (await ctx.podsOf('app=sleep')).filter((p) => cp.includes(p.spec?.nodeName ?? '')).length;
    ctx.say('kubectl scale deployment sleep --replicas=1');
    const downAt = Date.now();
    await scale(ctx, 'sleep', 1);
    await ctx.until(
      'scale-down to the one VM the last pod needs',
      async () => {
        const agents = [...(await ctx.nodesOf(ctx.g(A1))), ...(await ctx.nodesOf(ctx.g(A2)))];
        const vms = Object.values(ctx.sims).reduce((n, s) => n + s.vms().length, 0);
        const left = running(await ctx.podsOf('app=sleep'));
        return agents.length === 1 && vms === 1 && left.length === 1;
      },
      100_000,
    );
    const downIn = Math.round((Date.now() - downAt) / 1000);
    ctx.say(`scaled down to 1 VM (min-size 0; the last pod needs one) ${downIn}s after the scale to 1`);
    const total = Object.values(peak).reduce((a, b) => a + b, 0);
    const both = (peak[ctx.g(A1)] ?? 0) > 0 && (peak[ctx.g(A2)] ?? 0) > 0;
    return {
      ok: both && onControlPlane === 0,
      what:
        `sleep 100 -> 300 -> 400 -> 1 (50m/50Mi): 400 pods Running on ${total} VMs ` +
        `(${A1} ${peak[ctx.g(A1)] ?? 0}, ${A2} ${peak[ctx.g(A2)] ?? 0}), ${onControlPlane} on the tainted control plane; ` +
        `back to 1 VM ${downIn}s after the scale to 1`,
    };
  },
};
