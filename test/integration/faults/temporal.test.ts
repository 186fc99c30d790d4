import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startGuardian, stopComponents } from '../../../src/stack/processes.js';
import { startTemporal, type TemporalServer } from '../../../src/stack/temporal.js';
import { loadToolPaths } from '../../../src/stack/tools.js';
import { eventually } from '../helpers/kube.js';
import { finish, startScenario, STEP, type Scenario } from './harness.js';
import { pinFirstNode, protectedPods, workloads } from './workload.js';

// Fault suite, Temporal: the dev server (SQLite on disk, so its state survives) is stopped in the middle of an
// operation and started again on the same port. This scenario has a dev server of its own, so the shared one the
// other test files use is never restarted.

const projectRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

describe('fault suite: Temporal', () => {
  let s: Scenario | undefined;
  let dir: string | undefined;
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    s?.monitor.stop();
    await s?.p.stop();
    s = undefined;
    if (dir) await stopComponents(dir);
    dir = undefined;
  });

  it('the Temporal dev server restarted mid-operation', async () => {
    const t0 = Date.now();
    dir = join(inject('stackDir'), `temporal-restart-${process.pid}`);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    // Stops this server if the test runner dies, as the stack's own guardian does for the shared stack.
    startGuardian(dir, process.pid, join(projectRoot, 'scripts', 'stack-guardian.sh'));
    const binary = loadToolPaths().temporal;
    const temporal: TemporalServer = await startTemporal(dir, binary);
    const port = Number(temporal.address.split(':')[1]);
    const uiPort = Number(new URL(temporal.uiUrl).port);

    s = await startScenario({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, min: 0, max: 6 }],
      temporalAddress: temporal.address,
      joinDelayMs: 2000,
    });
    const { p, monitor } = s;
    const { web } = await workloads(p, p.groups[0]!);
    cleanups.push(await pinFirstNode(p, p.groups[0]!, monitor, web, STEP));

    // A scale-up waiting for its Nodes and, soon after, scale-downs: then the server goes away for a few seconds.
    await web.scale(4);
    await eventually('a running scale-up', async () => {
      const query = `AutoscalerCluster = '${p.cluster}' AND WorkflowType = 'scaleUpWorkflow' AND ExecutionStatus = 'Running'`;
      for await (const w of p.client.workflow.list({ query })) return w.workflowId;
      return undefined;
    });
    await stopComponents(dir);
    await new Promise((r) => setTimeout(r, 3000));
    await startTemporal(dir, binary, { port, uiPort });
    expect(await web.settled(90_000)).toBe(true);

    await web.scale(1);
    cleanups.push(await protectedPods(p, p.groups[0]!, monitor, 'b'));
    await eventually('a running scale-down', async () => {
      const query = `AutoscalerCluster = '${p.cluster}' AND WorkflowType = 'scaleDownWorkflow' AND ExecutionStatus = 'Running'`;
      for await (const w of p.client.workflow.list({ query })) return w.workflowId;
      return undefined;
    });
    await stopComponents(dir);
    await new Promise((r) => setTimeout(r, 3000));
    await startTemporal(dir, binary, { port, uiPort });
    await web.churn([3, 0], STEP);
    const verdict = await finish('Temporal dev server restarted mid-operation', s, t0, { timeoutMs: 180_000 });
    expect(verdict.violations).toEqual([]);
  }, 600_000);
});
