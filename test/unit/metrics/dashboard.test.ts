import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/registry.js';

// The Grafana dashboard must only query what the worker exports, with the labels it exports: a renamed metric or
// label would otherwise leave an empty panel that nobody notices. Temporal's SDK metrics are checked against a
// real scrape in test/integration/metrics.test.ts.

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/slicer-autoscaler.json', import.meta.url), 'utf8'),
) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };

/** Every metric name a PromQL expression reads (histogram series reduced to their metric). */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:cluster_autoscaler|slicer_autoscaler|temporal)_[a-z0-9_]+/g) ?? [];
  return [...new Set(names)];
}

describe('Grafana dashboard', () => {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('has a panel for every cluster-autoscaler metric we claim', () => {
    const used = new Set(exprs.flatMap(metricNames));
    for (const name of [
      'cluster_autoscaler_cluster_safe_to_autoscale',
      'cluster_autoscaler_nodes_count',
      'cluster_autoscaler_unschedulable_pods_count',
      'cluster_autoscaler_node_group_target_count',
      'cluster_autoscaler_node_group_healthiness',
      'cluster_autoscaler_node_group_backoff_status',
      'cluster_autoscaler_scaled_up_nodes_total',
      'cluster_autoscaler_scaled_down_nodes_total',
      'cluster_autoscaler_failed_scale_ups_total',
      'cluster_autoscaler_evicted_pods_total',
      'slicer_autoscaler_operations_total',
      'slicer_autoscaler_reaction_seconds_bucket',
      'slicer_autoscaler_plan_duration_seconds_bucket',
    ])
      expect(used.has(name), name).toBe(true);
  });

  it('queries only metrics and labels our registry exports', async () => {
    const metrics = createMetrics();
    const exported = new Map<string, Set<string>>();
    for (const m of (await metrics.registry.getMetricsAsJSON()) as unknown as { name: string; type: string }[]) {
      const metric = metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] };
      const labels = new Set([...(metric.labelNames ?? []), 'instance', 'job', 'le']);
      const names = m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name];
      for (const n of names) exported.set(n, labels);
    }
    for (const expr of exprs) {
      for (const name of metricNames(expr).filter((n) => !n.startsWith('temporal_'))) {
        expect(exported.has(name), `${name} in ${expr}`).toBe(true);
        // Labels used in selectors and by-clauses must exist on that metric.
        const selector = new RegExp(`${name}\\{([^}]*)\\}`).exec(expr)?.[1] ?? '';
        for (const label of selector.matchAll(/([a-z_]+)=~?"/g))
          expect(exported.get(name)!.has(label[1]!), `${label[1]} on ${name}`).toBe(true);
      }
    }
  });

  it('has a datasource and a worker selector', () => {
    expect(dashboard.uid).toBe('slicer-autoscaler');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
  });
});
