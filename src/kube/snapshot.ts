import type { V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import {
  cpuMilli,
  memoryBytes,
  podRequests,
  type NodeInfo,
  type PdbInfo,
  type PodInfo,
  type SelectorRequirement,
  type Taint,
} from '../planner/index.js';
import { STARTUP_TAINTS } from '../shared/startup-taints.js';
import { VM_ID_LABEL } from '../shared/ids.js';

// Kubernetes objects to the planner's lean, JSON-safe shapes. Informer objects mix Date instances (from lists) and
// ISO strings (from watch events), so every time goes through toMs.

function toMs(t: Date | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

const OPS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

function requirements(list: { key: string; operator: string; values?: string[] }[] | undefined): SelectorRequirement[] {
  return (list ?? [])
    .filter((r) => OPS.has(r.operator))
    .map((r) => ({ key: r.key, operator: r.operator as SelectorRequirement['operator'], values: r.values }));
}

/** A Node as the planner sees it; `managedGroups` are the node groups in the cloud-config. */
export function toNodeInfo(node: V1Node, managedGroups: Set<string>): NodeInfo {
  const labels = node.metadata?.labels ?? {};
  const group = labels['slicer/hostgroup'];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const alloc = node.status?.allocatable ?? {};
  const isReady = ready?.status === 'True';
  return {
    name: node.metadata?.name ?? '',
    group: group && managedGroups.has(group) ? group : undefined,
    hostname: labels['slicer/hostname'],
    allocatable: {
      cpuMilli: cpuMilli(alloc['cpu']),
      memoryBytes: memoryBytes(alloc['memory']),
      pods: Number(alloc['pods'] ?? 110),
    },
    labels,
    taints: (node.spec?.taints ?? []).map((t): Taint => ({
      key: t.key,
      value: t.value,
      effect: t.effect as Taint['effect'],
    })),
    ready: isReady,
    notReadySince: isReady ? undefined : (toMs(ready?.lastTransitionTime) ?? toMs(node.metadata?.creationTimestamp)),
    unschedulable: node.spec?.unschedulable ?? false,
    createdAt: toMs(node.metadata?.creationTimestamp) ?? 0,
    annotations: node.metadata?.annotations ?? {},
    vmId: labels[VM_ID_LABEL],
    startupTainted: (node.spec?.taints ?? []).some((t) => STARTUP_TAINTS.has(t.key)),
  };
}

/** A Pod as the planner sees it, with its effective requests (the init-container rule and overhead). */
export function toPodInfo(pod: V1Pod): PodInfo {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const controller = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const annotations = pod.metadata?.annotations ?? {};
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    nodeName: pod.spec?.nodeName,
    phase: pod.status?.phase ?? 'Pending',
    unschedulable: scheduled?.status === 'False' && scheduled.reason === 'Unschedulable',
    unschedulableSince: toMs(scheduled?.lastTransitionTime),
    createdAt: toMs(pod.metadata?.creationTimestamp) ?? 0,
    priority: pod.spec?.priority ?? 0,
    ownerKind: controller?.kind,
    requests: podRequests({
      containers: pod.spec?.containers as never,
      initContainers: pod.spec?.initContainers as never,
      overhead: pod.spec?.overhead,
    }),
    nodeSelector: pod.spec?.nodeSelector ?? {},
    requiredAffinity: terms?.map((t) => requirements(t.matchExpressions)),
    tolerations: (pod.spec?.tolerations ?? []).map((t) => ({
      key: t.key,
      operator: t.operator as 'Exists' | 'Equal' | undefined,
      value: t.value,
      effect: t.effect,
    })),
    hasLocalStorage: (pod.spec?.volumes ?? []).some(
      (v) => v.hostPath !== undefined || (v.emptyDir !== undefined && v.emptyDir.medium !== 'Memory'),
    ),
    labels: pod.metadata?.labels ?? {},
    annotations,
    isDaemonSet: controller?.kind === 'DaemonSet',
    isMirror: annotations['kubernetes.io/config.mirror'] !== undefined,
    deleting: pod.metadata?.deletionTimestamp !== undefined,
  };
}

export function toPdbInfo(pdb: V1PodDisruptionBudget): PdbInfo {
  return {
    namespace: pdb.metadata?.namespace ?? 'default',
    name: pdb.metadata?.name ?? '',
    matchLabels: pdb.spec?.selector?.matchLabels ?? {},
    matchExpressions: requirements(pdb.spec?.selector?.matchExpressions),
    // Until the disruption controller has computed it, assume none: never evict past a budget we have not seen.
    disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
  };
}
