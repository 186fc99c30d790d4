import type { CoreV1Api } from '@kubernetes/client-node';
import type { PlanResult } from '../shared/plan-contract.js';

/** cluster-autoscaler's status ConfigMap name, so existing runbooks (`kubectl -n kube-system get cm ...`) keep working. */
export const STATUS_CONFIGMAP = 'cluster-autoscaler-status';

/** The human-readable status, in the spirit of cluster-autoscaler's `status` key. */
export function renderStatus(plan: PlanResult, cluster: string, now: Date): string {
  const lines = [`slicer-autoscaler status for cluster ${cluster} at ${now.toISOString()}:`, 'Cluster-wide:'];
  lines.push(
    `  ScaleUp:   ${plan.scaleUps.length ? plan.scaleUps.map((u) => `${u.group} +${u.count}`).join(', ') : 'NoActivity'} (pending pods: ${plan.pendingPods})`,
  );
  lines.push(
    `  ScaleDown: ${plan.scaleDowns.length ? plan.scaleDowns.map((d) => d.node).join(', ') : plan.blocked ? `Blocked (${plan.blocked.message})` : 'NoCandidates'}`,
  );
  lines.push('NodeGroups:');
  for (const [name, g] of Object.entries(plan.groups)) {
    const health = g.ready === g.size ? 'Healthy' : 'Unhealthy';
    lines.push(
      `  Name: ${name}`,
      `  Health: ${health} (ready=${g.ready} registered=${g.size} minSize=${g.min} maxSize=${g.max})`,
    );
  }
  if (Object.keys(plan.podReasons).length) {
    lines.push('PendingPodReasons:');
    for (const [reason, count] of Object.entries(plan.podReasons)) lines.push(`  ${reason}: ${count}`);
  }
  return lines.join('\n') + '\n';
}

/** Creates or replaces the status ConfigMap; best effort, like cluster-autoscaler's. */
export async function writeStatusConfigMap(
  core: CoreV1Api,
  namespace: string,
  plan: PlanResult,
  cluster: string,
  now = new Date(),
): Promise<void> {
  const body = {
    metadata: {
      name: STATUS_CONFIGMAP,
      namespace,
      annotations: { 'slicer-autoscaler/last-updated': now.toISOString() },
    },
    data: { status: renderStatus(plan, cluster, now) },
  };
  try {
    await core.replaceNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace, body });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) return;
    await core.createNamespacedConfigMap({ namespace, body }).catch(() => undefined);
  }
}
