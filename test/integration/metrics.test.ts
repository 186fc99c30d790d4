import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runOperatorCommand } from '../../src/cli/operator.js';
import type { RunningSimulator } from '../../src/simulator/server.js';
import { freePort } from '../../src/stack/ports.js';
import { taskQueueFor } from '../../src/shared/ids.js';
import { eventually, freshNamespace, kubeClients } from './helpers/kube.js';
import { sample, scrape, type Sample } from './helpers/metrics.js';
import { startProduct, type Product } from './helpers/product.js';

// The worker's /metrics during a real run: pending pods -> scale-up -> nodes Ready; two pods go -> two empty nodes
// removed; an operator drains the last node (its pod is evicted and gets a new VM); the workload goes -> all removed.
// Every cluster-autoscaler metric we claim must be there, and the ones that describe this run must move. Temporal's
// own SDK metrics come from the runtime on a second port.

const CA_METRICS = [
  'cluster_autoscaler_cluster_safe_to_autoscale',
  'cluster_autoscaler_nodes_count',
  'cluster_autoscaler_node_groups_count',
  'cluster_autoscaler_unschedulable_pods_count',
  'cluster_autoscaler_max_nodes_count',
  'cluster_autoscaler_node_group_min_count',
  'cluster_autoscaler_node_group_max_count',
  'cluster_autoscaler_node_group_target_count',
  'cluster_autoscaler_node_group_healthiness',
  'cluster_autoscaler_node_group_backoff_status',
  'cluster_autoscaler_last_activity',
  'cluster_autoscaler_function_duration_seconds_count',
  'cluster_autoscaler_scaled_up_nodes_total',
  'cluster_autoscaler_scaled_down_nodes_total',
  'cluster_autoscaler_failed_scale_ups_total',
  'cluster_autoscaler_evicted_pods_total',
  'cluster_autoscaler_unneeded_nodes_count',
];

describe('Prometheus metrics through a real scale-up, scale-down and drain', () => {
  const { core, apps } = kubeClients();
  const cluster = `met-${randomBytes(2).toString('hex')}`;
  const group = `${cluster}-x86`;
  let product: Product;
  let sim: RunningSimulator;
  let ns = '';
  let metricsUrl = '';
  let temporalMetricsUrl = '';
  const history: Sample[][] = [];
  let poller: NodeJS.Timeout | undefined;

  const now = async () => {
    const s = await scrape(metricsUrl);
    history.push(s);
    return s;
  };
  const v = (s: Sample[], name: string, labels: Record<string, string> = {}) => sample(s, name, labels) ?? NaN;
  /** The largest value a series had in any scrape so far. */
  const peak = (name: string, labels: Record<string, string> = {}) =>
    Math.max(...history.map((s) => sample(s, name, labels) ?? -Infinity));

  beforeAll(async () => {
    ns = await freshNamespace(core, 'metrics');
    const healthPort = await freePort();
    const temporalMetricsPort = await freePort();
    product = await startProduct({
      cluster,
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 3'] }],
      global: ['node-provision-timeout = 60s', 'scale-down-unneeded-time = 3s'],
      flags: ['--scan-interval=1s', '--scale-down-delay-after-add=2s', '--scale-down-delay-after-delete=0s'],
      joinDelayMs: 500,
      namespace: ns,
      worker: { healthPort, temporalMetricsPort, statusNamespace: ns, statusIntervalMs: 1000 },
    });
    sim = product.sim;
    metricsUrl = `http://127.0.0.1:${healthPort}/metrics`;
    temporalMetricsUrl = `http://127.0.0.1:${temporalMetricsPort}/metrics`;
    // Gauges move between scrapes; keep a scrape every half second so a short-lived value is seen.
    poller = setInterval(() => void now().catch(() => undefined), 500);
  });

  afterAll(async () => {
    if (poller) clearInterval(poller);
    await product?.stop();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('exports every metric we claim, with the configured limits, before anything happens', async () => {
    const s = await eventually('a first evaluation', async () => {
      const x = await now();
      return v(x, 'slicer_autoscaler_plans_total') >= 1 ? x : undefined;
    });
    for (const name of CA_METRICS)
      expect(
        s.some((x) => x.name === name),
        name,
      ).toBe(true);
    expect(v(s, 'cluster_autoscaler_node_groups_count', { node_group_type: 'autoscaled' })).toBe(1);
    expect(v(s, 'cluster_autoscaler_node_group_max_count', { node_group: group })).toBe(3);
    expect(v(s, 'cluster_autoscaler_node_group_min_count', { node_group: group })).toBe(0);
    expect(v(s, 'cluster_autoscaler_max_nodes_count')).toBe(3);
    expect(v(s, 'cluster_autoscaler_scaled_up_nodes_total')).toBe(0);
    expect(v(s, 'cluster_autoscaler_cluster_safe_to_autoscale')).toBe(1);
    expect(v(s, 'cluster_autoscaler_node_group_healthiness', { node_group: group })).toBe(1);
    expect(v(s, 'cluster_autoscaler_last_activity', { activity: 'main' })).toBeGreaterThan(Date.now() / 1000 - 60);
    // No label value carries a secret or a URL.
    const text = await (await fetch(metricsUrl)).text();
    for (const secret of [product.k3sToken, product.simToken, sim.url]) expect(text).not.toContain(secret);
    // Health and readiness answer on the same port.
    const health = await fetch(metricsUrl.replace('/metrics', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      ok: true,
      worker: 'RUNNING',
      dependencies: [
        expect.objectContaining({ name: 'apiserver', ok: true }),
        expect.objectContaining({ name: 'temporal', ok: true }),
      ],
    });
    const ready = await fetch(metricsUrl.replace('/metrics', '/readyz'));
    expect([ready.status, await ready.json()]).toEqual([200, { ok: true, worker: 'RUNNING', cacheSynced: true }]);
  });

  it('scale-up: VMs, reaction time, operations, node counts and targets move', async () => {
    const before = await now();
    const labels = { app: 'web' };
    const deployment: V1Deployment = {
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { 'slicer/hostgroup': group },
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
    await eventually(
      '3 web pods Running',
      async () =>
        (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items.filter(
          (p) => p.status?.phase === 'Running',
        ).length === 3,
      120_000,
    );
    const after = await eventually('a plan that sees 3 Ready nodes of the group', async () => {
      const s = await now();
      return v(s, 'cluster_autoscaler_node_group_target_count', { node_group: group }) === 3 &&
        v(s, 'cluster_autoscaler_nodes_count', { state: 'ready' }) >= 3
        ? s
        : undefined;
    });
    expect(v(after, 'cluster_autoscaler_scaled_up_nodes_total')).toBeGreaterThanOrEqual(3);
    expect(
      v(after, 'slicer_autoscaler_operations_total', { kind: 'scale-up', outcome: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    expect(v(after, 'slicer_autoscaler_reaction_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(v(after, 'slicer_autoscaler_reaction_seconds_sum')).toBeGreaterThan(0);
    expect(v(after, 'slicer_autoscaler_plan_duration_seconds_count')).toBeGreaterThan(
      v(before, 'slicer_autoscaler_plan_duration_seconds_count'),
    );
    expect(v(after, 'cluster_autoscaler_function_duration_seconds_count', { function: 'main' })).toBeGreaterThan(
      v(before, 'cluster_autoscaler_function_duration_seconds_count', { function: 'main' }),
    );
    expect(v(after, 'cluster_autoscaler_last_activity', { activity: 'main' })).toBeGreaterThan(
      v(before, 'cluster_autoscaler_last_activity', { activity: 'main' }),
    );
    expect(v(after, 'slicer_autoscaler_events_total', { result: 'sent' })).toBeGreaterThanOrEqual(3);
    // Seen while it happened: pods waiting, and VMs asked for but not yet Nodes.
    expect(peak('cluster_autoscaler_unschedulable_pods_count', { type: 'unschedulable' })).toBeGreaterThanOrEqual(1);
    expect(peak('cluster_autoscaler_last_activity', { activity: 'scaleUp' })).toBeGreaterThan(0);

    const mean = (name: string) => v(after, `${name}_sum`) / v(after, `${name}_count`);
    console.log(
      `[metrics] reaction mean ${(mean('slicer_autoscaler_reaction_seconds') * 1000).toFixed(0)} ms over ${v(after, 'slicer_autoscaler_reaction_seconds_count')} VM(s); ` +
        `plan mean ${(mean('slicer_autoscaler_plan_duration_seconds') * 1000).toFixed(1)} ms over ${v(after, 'slicer_autoscaler_plan_duration_seconds_count')} plan(s)`,
    );

    // Temporal's SDK metrics, from the runtime, for this worker's task queue.
    const sdk = await eventually('Temporal SDK metrics', async () => {
      const s = await scrape(temporalMetricsUrl);
      return s.some((x) => x.name.startsWith('temporal_') && x.labels['task_queue'] === taskQueueFor(cluster))
        ? s
        : undefined;
    });
    expect(sdk.some((x) => x.name.startsWith('temporal_activity_execution_latency'))).toBe(true);
    expect(sdk.some((x) => x.name.startsWith('temporal_workflow_task_execution_latency'))).toBe(true);

    // Every series the shipped Grafana dashboard queries exists in a real scrape of one of the two ports.
    const dashboard = JSON.parse(
      readFileSync(new URL('../../deploy/grafana/slicer-autoscaler.json', import.meta.url), 'utf8'),
    ) as { panels: { targets?: { expr: string }[] }[] };
    const present = new Set([...after, ...sdk].map((x) => x.name));
    const queried = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).flatMap(
        (t) => t.expr.match(/\b(?:cluster_autoscaler|slicer_autoscaler|temporal)_[a-z0-9_]+/g) ?? [],
      ),
    );
    expect(queried.length).toBeGreaterThan(20);
    for (const name of new Set(queried)) expect(present.has(name), name).toBe(true);
  });

  it('scale-down and drain: removals by reason, evictions, unneeded nodes and operations move', async () => {
    await apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
    });
    const emptied = await eventually(
      'the two emptied nodes removed',
      async () => {
        const s = await now();
        return v(s, 'cluster_autoscaler_scaled_down_nodes_total', { reason: 'empty' }) >= 2 ? s : undefined;
      },
      120_000,
    );
    expect(
      v(emptied, 'slicer_autoscaler_operations_total', { kind: 'scale-down', outcome: 'removed' }),
    ).toBeGreaterThanOrEqual(2);
    expect(peak('cluster_autoscaler_unneeded_nodes_count')).toBeGreaterThanOrEqual(1);

    // The operator drains the node of the last pod: one eviction, an underutilized removal, and a new VM for the pod.
    const left = await eventually('one node of the group left', async () => {
      const nodes = (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items;
      return nodes.length === 1 ? nodes[0]!.metadata!.name! : undefined;
    });
    const out: string[] = [];
    const code = await runOperatorCommand(
      'drain',
      { positionals: [left] },
      { address: inject('temporalAddress'), namespace: 'default', cluster },
      (l) => out.push(l),
    );
    expect(code, out.join('\n')).toBe(0);
    const drained = await eventually(
      'the drained node removed and its pod evicted',
      async () => {
        const s = await now();
        return v(s, 'cluster_autoscaler_scaled_down_nodes_total', { reason: 'underutilized' }) >= 1 ? s : undefined;
      },
      120_000,
    );
    expect(
      v(drained, 'cluster_autoscaler_evicted_pods_total', { eviction_result: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    expect(v(drained, 'cluster_autoscaler_failed_scale_ups_total', { reason: 'timeout' })).toBe(0);

    await apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    const end = await eventually(
      'every VM and Node gone, and a plan that saw it',
      async () => {
        const nodes = (await core.listNode({ labelSelector: `slicer/hostgroup=${group}` })).items;
        const s = await now();
        return nodes.length === 0 &&
          sim.vms().length === 0 &&
          v(s, 'cluster_autoscaler_node_group_target_count', { node_group: group }) === 0
          ? s
          : undefined;
      },
      120_000,
    );
    // Every VM the test made was removed by a scale-down: the two emptied, the drained one, and the VM made for the
    // evicted pod, if its replacement was created before the scale to 0 (a race the test does not control).
    const made = sim.events().filter((e) => e.kind === 'created').length;
    expect(made).toBeGreaterThanOrEqual(3);
    // A scale-down deletes the VM and the Node, then reports to the evaluator, and only then ends and is counted: the
    // last removal may still be reporting when the cluster is already empty, so its count is waited for.
    const removedCount = (s: Sample[]) =>
      v(s, 'slicer_autoscaler_operations_total', { kind: 'scale-down', outcome: 'removed' });
    const counted = await eventually(
      `${made} scale-down(s) counted as removed`,
      async () => {
        const s = await now();
        return removedCount(s) >= made ? s : undefined;
      },
      30_000,
    ).catch(async (err: unknown) => {
      const s = await now();
      const ops = s.filter((x) => x.name === 'slicer_autoscaler_operations_total');
      throw new Error(
        `${(err as Error).message}; operations: ${ops.map((x) => `${JSON.stringify(x.labels)}=${x.value}`).join(', ')}; ` +
          `VM events: ${JSON.stringify(sim.events().map((e) => [e.kind, e.hostname]))}`,
      );
    });
    expect(removedCount(counted)).toBeGreaterThanOrEqual(made);
    const removed = ['empty', 'underutilized', 'unready'].map((reason) =>
      v(counted, 'cluster_autoscaler_scaled_down_nodes_total', { reason }),
    );
    expect(removed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(made);
    expect(v(end, 'cluster_autoscaler_unschedulable_pods_count', { type: 'unschedulable' })).toBe(0);
  });
});
