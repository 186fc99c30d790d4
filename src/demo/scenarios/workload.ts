import type { V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import type { ScenarioContext } from '../harness.js';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_VALUE } from '../../simulator/kwok.js';

/** A Deployment of `replicas` pods that request `cpu` and `memory`, like the guide's `sleep`. */
export function deployment(
  name: string,
  replicas: number,
  requests: { cpu: string; memory: string },
  extra: { nodeSelector?: Record<string, string> } = {},
): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 0,
          nodeSelector: extra.nodeSelector,
          containers: [
            {
              name,
              image: 'docker.io/library/busybox:latest',
              command: ['sleep', 'infinity'],
              resources: { requests },
            },
          ],
        },
      },
    },
  };
}

/** `kubectl scale deployment NAME --replicas=N`. */
export async function scale(ctx: ScenarioContext, name: string, replicas: number): Promise<void> {
  await ctx.apps.patchNamespacedDeploymentScale({
    name,
    namespace: ctx.namespace,
    body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
  });
}

export const running = (pods: V1Pod[]) => pods.filter((p) => p.status?.phase === 'Running');

export const isReady = (n: V1Node) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * A control-plane node KWOK runs, tainted the way the guide taints its control plane so workloads need agents:
 * `slicer-cp=true:NoSchedule`.
 */
export function controlPlaneNode(name: string): V1Node {
  const capacity = { cpu: '2', memory: String(4 * 1024 ** 3), pods: '110' };
  return {
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_VALUE },
      labels: { 'kubernetes.io/hostname': name, 'node-role.kubernetes.io/control-plane': 'true' },
    },
    spec: { providerID: `kwok://${name}`, taints: [{ key: 'slicer-cp', value: 'true', effect: 'NoSchedule' }] },
    status: { capacity, allocatable: capacity },
  };
}

/** How many nodes of each group carry at least one of `pods`. */
export function spread(pods: V1Pod[], nodeGroup: Map<string, string>): Record<string, number> {
  const byGroup: Record<string, Set<string>> = {};
  for (const p of pods) {
    const node = p.spec?.nodeName;
    const group = node ? nodeGroup.get(node) : undefined;
    if (group) (byGroup[group] ??= new Set()).add(node!);
  }
  return Object.fromEntries(Object.entries(byGroup).map(([g, s]) => [g, s.size]));
}
