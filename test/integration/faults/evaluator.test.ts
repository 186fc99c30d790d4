import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/kube.js';
import type { Product } from '../helpers/product.js';
import { finish, startEvaluatorByHand, startScenario, STEP, type Scenario } from './harness.js';
import { pinFirstNode, protectedPods, workloads } from './workload.js';

// Fault suite, the evaluator: terminated by hand (`temporal workflow terminate`) while a scale-up and then while a
// scale-down runs, and started again by hand with empty state. It must rebuild its books from Temporal and never
// adopt, count twice or delete what the operations of the terminated run own.

async function running(p: Product, type: 'scaleUpWorkflow' | 'scaleDownWorkflow'): Promise<string> {
  return eventually(
    `a running ${type}`,
    async () => {
      const query = `AutoscalerCluster = '${p.cluster}' AND WorkflowType = '${type}' AND ExecutionStatus = 'Running'`;
      for await (const w of p.client.workflow.list({ query })) return w.workflowId;
      return undefined;
    },
    60_000,
  );
}

describe('fault suite: the evaluator', () => {
  let s: Scenario | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    s?.monitor.stop();
    await s?.p.stop();
    s = undefined;
  });

  it('terminated by hand mid-operation and started again', async () => {
    const t0 = Date.now();
    // Joins take 3 s, so the scale-up is still waiting for its Nodes when the evaluator goes.
    s = await startScenario({ groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 1, max: 6 }], joinDelayMs: 3000 });
    const { p, monitor } = s;
    const { web } = await workloads(p, p.groups[0]!);
    cleanups.push(await pinFirstNode(p, p.groups[0]!, monitor, web, STEP));

    await web.scale(5);
    await running(p, 'scaleUpWorkflow');
    await p.evaluator().terminate('fault suite: terminated by hand during a scale-up');
    await startEvaluatorByHand(p);
    expect(await web.settled(60_000)).toBe(true);

    await web.scale(1);
    cleanups.push(await protectedPods(p, p.groups[0]!, monitor, 'b'));
    await running(p, 'scaleDownWorkflow');
    await p.evaluator().terminate('fault suite: terminated by hand during a scale-down');
    await startEvaluatorByHand(p);
    await web.churn([1, 3, 0], STEP);
    const verdict = await finish('the evaluator terminated and started again', s, t0);
    expect(verdict.violations).toEqual([]);
  }, 240_000);
});
