import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningSimulator } from '../../src/simulator/server.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { explainQuery, statusQuery } from '../../src/workflows/messages.js';
import { runOperatorCommand } from '../../src/cli/operator.js';
import { loadToolPaths } from '../../src/stack/tools.js';
import { eventually, kubeClients } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// The whole product on the real stack: a worker with the simulated Slicer, pending pods -> evaluator -> scale-up
// workflows -> VMs join as Ready Nodes -> pods Running; then the workload goes away -> unneeded -> scale-down
// workflows drain and delete the VMs and Nodes. Finally no token appears anywhere in any workflow history.

const execFileAsync = promisify(execFile);

describe('end to end: scale up for pending pods, scale down when they go', () => {
  const { core, apps } = kubeClients();
  const cluster = `e2e-${randomBytes(2).toString('hex')}`;
  const groupName = `${cluster}-x86`;
  let product: Product;
  let sim: RunningSimulator;
  let client: Client;
  let ns = '';

  beforeAll(async () => {
    product = await startProduct({
      cluster,
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 3'] }],
      global: ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 3s'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=2s', '--scale-down-delay-after-delete=0s'],
      joinDelayMs: 500,
    });
    ({ sim, client, ns } = product);
  });

  afterAll(async () => {
    await product?.stop();
  });

  it('adds VMs for pending pods, explains the pod it cannot help, then removes the VMs once unneeded', async () => {
    const labels = { app: 'web' };
    const deployment: V1Deployment = {
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { 'slicer/hostgroup': groupName },
            containers: [
              {
                name: 'app',
                image: 'registry.invalid/web:1',
                resources: { requests: { cpu: '1200m', memory: '1Gi' } },
              },
            ],
          },
        },
      },
    };
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'too-big' },
        spec: {
          nodeSelector: { 'slicer/hostgroup': groupName },
          containers: [
            { name: 'app', image: 'registry.invalid/x:1', resources: { requests: { cpu: '6', memory: '1Gi' } } },
          ],
        },
      },
    });

    // 3 pods of 1.2 CPU on 2-CPU VMs: one pod per VM, 3 VMs, each created by a scale-up workflow.
    await eventually(
      '3 web pods Running on new nodes',
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
        return pods.items.filter((p) => p.status?.phase === 'Running').length === 3;
      },
      120_000,
    );
    const nodes = (await core.listNode({ labelSelector: `slicer/hostgroup=${groupName}` })).items;
    expect(nodes).toHaveLength(3);
    expect(sim.vms()).toHaveLength(3);
    expect(sim.vms().every((v) => v.tags.some((t) => t.startsWith('slicer-autoscaler/op=scale-up/')))).toBe(true);

    const evaluator = client.workflow.getHandle(autoscalerWorkflowId(cluster));
    const explanation = await eventually('explanation for too-big', async () => {
      const e = await evaluator.query(explainQuery, { pod: `${ns}/too-big` });
      return e.found ? e : undefined;
    });
    expect(explanation).toMatchObject({
      verdict: { reason: 'TooBigForEveryTemplate', message: expect.stringMatching(/6 CPU.*is 4 CPU short/) },
    });
    // Max-size 3 held: the too-big pod never caused a fourth VM (an evaluation may still predate the third Node).
    const view = await eventually('the evaluator to see all 3 nodes', async () => {
      const g = (await evaluator.query(statusQuery)).groups[groupName];
      return g?.size === 3 ? g : undefined;
    });
    expect(view).toMatchObject({ size: 3, max: 3 });
    expect(sim.vms()).toHaveLength(3);

    await core.deleteNamespacedPod({ name: 'too-big', namespace: ns });
    await apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await eventually(
      'every VM and Node removed',
      async () => {
        const left = (await core.listNode({ labelSelector: `slicer/hostgroup=${groupName}` })).items;
        return left.length === 0 && sim.vms().length === 0;
      },
      120_000,
    );
    const scaleDowns = await eventually('scale-down workflows recorded', async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({
        query: `WorkflowType = 'scaleDownWorkflow' AND NodeGroup = '${groupName}'`,
      }))
        ids.push(w.workflowId);
      return ids.length >= 3 ? ids : undefined;
    });
    expect(scaleDowns.every((id) => id.startsWith('scale-down/'))).toBe(true);
  });

  it('is steered by our CLI and by the temporal CLI', async () => {
    const target = { address: inject('temporalAddress'), namespace: 'default', cluster };
    const out: string[] = [];
    expect(await runOperatorCommand('status', { positionals: [] }, target, (l) => out.push(l))).toBe(0);
    expect(JSON.parse(out.join('\n')).groups[groupName]).toMatchObject({ max: 3 });
    out.length = 0;
    expect(await runOperatorCommand('scale', { positionals: [groupName, '7'] }, target, (l) => out.push(l))).toBe(1);
    expect(out.join('\n')).toMatch(/refused: .*max-size is 3/);
    out.length = 0;
    expect(
      await runOperatorCommand('pause', { positionals: [], reason: 'maintenance', forSeconds: 60 }, target, (l) =>
        out.push(l),
      ),
    ).toBe(0);

    // The same evaluator through the real `temporal` binary, as an operator would type it.
    const temporal = loadToolPaths().temporal;
    // Asynchronously: the worker answering the query runs in this very process.
    const run = async (...args: string[]) =>
      (await execFileAsync(temporal, [...args, '--address', inject('temporalAddress'), '-o', 'json'])).stdout;
    const status = JSON.parse(
      await run('workflow', 'query', '-w', autoscalerWorkflowId(cluster), '--name', 'status'),
    ) as { queryResult: [{ paused: { reason: string } }] };
    expect(status.queryResult[0].paused).toMatchObject({ reason: 'maintenance' });
    await run(
      'workflow',
      'update',
      'execute',
      '-w',
      autoscalerWorkflowId(cluster),
      '--name',
      'resume',
      '--input',
      '{}',
    );
    expect((await client.workflow.getHandle(autoscalerWorkflowId(cluster)).query(statusQuery)).paused).toBeNull();
  });

  it('never puts a token in any workflow history', async () => {
    const ids: string[] = [];
    for await (const w of client.workflow.list({
      query: `NodeGroup = '${groupName}' OR AutoscalerCluster = '${cluster}'`,
    }))
      ids.push(w.workflowId);
    // The evaluator, at least one scale-up and the three scale-downs.
    expect(ids).toContain(autoscalerWorkflowId(cluster));
    expect(ids.some((id) => id.startsWith(`scale-up/${groupName}/`))).toBe(true);
    expect(ids.filter((id) => id.startsWith('scale-down/')).length).toBeGreaterThanOrEqual(3);
    let sawPayloads = false;
    for (const id of ids) {
      // The JSON form carries payloads as base64; decode them so a token inside any argument or result shows.
      const history = historyToJSON(await client.workflow.getHandle(id).fetchHistory());
      const decoded = history.replace(/"data":\s*"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) =>
        Buffer.from(b64, 'base64').toString('utf8'),
      );
      sawPayloads ||= decoded.includes(`"group":"${groupName}"`);
      expect(decoded).not.toContain(product.k3sToken);
      expect(decoded).not.toContain(product.simToken);
    }
    // Guard against a vacuous pass: decoding worked, the workflow inputs are readable.
    expect(sawPayloads).toBe(true);
  });
});
