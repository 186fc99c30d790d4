import type {
  V1Container,
  V1LabelSelector,
  V1Node,
  V1Pod,
  V1PodAffinityTerm,
  V1PodDisruptionBudget,
  V1PodSpec,
} from '@kubernetes/client-node';
import {
  cpuMilli,
  memoryBytes,
  podRequests,
  type HostPort,
  type LabelSelector,
  type NodeInfo,
  type PdbInfo,
  type PodAffinityTerm,
  type PodInfo,
  type SelectorRequirement,
  type SpreadConstraint,
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

const LABEL_OPS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
/** Resources the planner models (ephemeral-storage is left to the scheduler: nodes rarely run short of it). */
const MODELLED_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

/** A pod label selector; null stays null (selects nothing). Operators no label selector has are reported. */
function labelSelector(sel: V1LabelSelector | undefined, what: string, unsupported: string[]): LabelSelector | null {
  if (!sel) return null;
  const exprs = sel.matchExpressions ?? [];
  const odd = exprs.find((r) => !LABEL_OPS.has(r.operator));
  if (odd) unsupported.push(`${what}: label selector operator ${odd.operator}`);
  return { matchLabels: { ...(sel.matchLabels ?? {}) }, matchExpressions: requirements(exprs) };
}

/**
 * matchLabelKeys and mismatchLabelKeys, as kube-apiserver merges them into the selector: `key In (the pod's
 * value)` and `key NotIn (the pod's value)`; keys the pod lacks are ignored. Merging twice changes nothing.
 */
function withLabelKeys(
  sel: LabelSelector | null,
  labels: Record<string, string>,
  match: string[] | undefined,
  mismatch: string[] | undefined,
): LabelSelector | null {
  if (!sel) return sel;
  const extra: SelectorRequirement[] = [];
  for (const k of match ?? []) if (labels[k] !== undefined) extra.push({ key: k, operator: 'In', values: [labels[k]] });
  for (const k of mismatch ?? [])
    if (labels[k] !== undefined) extra.push({ key: k, operator: 'NotIn', values: [labels[k]] });
  return extra.length === 0 ? sel : { ...sel, matchExpressions: [...sel.matchExpressions, ...extra] };
}

function isEmptySelector(sel: V1LabelSelector): boolean {
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/**
 * A required inter-pod term with its namespaces resolved: none listed and no namespaceSelector = the pod's own;
 * an empty namespaceSelector = every namespace. A namespaceSelector with labels needs namespace labels, which the
 * planner does not read: for anti-affinity every namespace is assumed (it can only refuse more), for affinity the
 * term is reported as unsupported (assuming would claim fits the scheduler may refuse).
 */
function interPodTerm(
  t: V1PodAffinityTerm,
  pod: { namespace: string; labels: Record<string, string> },
  kind: 'affinity' | 'anti-affinity',
  unsupported: string[],
): PodAffinityTerm {
  const listed = t.namespaces ?? [];
  let namespaces: PodAffinityTerm['namespaces'] = listed.length > 0 ? [...listed] : [pod.namespace];
  if (t.namespaceSelector) {
    if (isEmptySelector(t.namespaceSelector) || kind === 'anti-affinity') namespaces = 'all';
    else unsupported.push(`pod affinity with a namespaceSelector by labels (the planner does not read namespaces)`);
  }
  const selector = labelSelector(t.labelSelector, `pod ${kind}`, unsupported);
  return {
    selector: withLabelKeys(selector, pod.labels, t.matchLabelKeys, t.mismatchLabelKeys),
    namespaces,
    topologyKey: t.topologyKey,
  };
}

/** DoNotSchedule spread constraints; ScheduleAnyway is only a preference of the scheduler's scoring. */
function spreadConstraints(
  spec: V1PodSpec | undefined,
  labels: Record<string, string>,
  unsupported: string[],
): SpreadConstraint[] | undefined {
  const out: SpreadConstraint[] = [];
  for (const c of spec?.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== 'DoNotSchedule') continue;
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector: withLabelKeys(
        labelSelector(c.labelSelector, 'topology spread', unsupported),
        labels,
        c.matchLabelKeys,
        undefined,
      ),
      ...(c.minDomains !== undefined && { minDomains: c.minDomains }),
      nodeAffinityPolicy: c.nodeAffinityPolicy === 'Ignore' ? 'Ignore' : 'Honor',
      nodeTaintsPolicy: c.nodeTaintsPolicy === 'Honor' ? 'Honor' : 'Ignore',
    });
  }
  return out.length > 0 ? out : undefined;
}

/** Host ports of the containers and sidecars (init containers that keep running). */
function hostPorts(spec: V1PodSpec | undefined): HostPort[] | undefined {
  const out: HostPort[] = [];
  const running = [...(spec?.containers ?? []), ...(spec?.initContainers ?? []).filter(isSidecar)];
  for (const c of running)
    for (const p of c.ports ?? []) {
      // With hostNetwork the container port is the host port (the API server defaults it so, too).
      const port = p.hostPort ?? (spec?.hostNetwork ? p.containerPort : undefined);
      if (port && port > 0) out.push({ port, protocol: p.protocol ?? 'TCP', hostIP: p.hostIP || '0.0.0.0' });
    }
  return out.length > 0 ? out : undefined;
}

function isSidecar(c: V1Container): boolean {
  return c.restartPolicy === 'Always';
}

/** What in the pod's spec decides where it may run but the planner cannot judge, named for a person. */
function unjudgeable(spec: V1PodSpec | undefined): string[] {
  const out: string[] = [];
  for (const v of spec?.volumes ?? []) {
    if (v.persistentVolumeClaim)
      out.push(
        `volume ${v.name} uses PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} (volume binding and topology)`,
      );
    else if (v.ephemeral) out.push(`volume ${v.name} is a generic ephemeral volume (a PersistentVolumeClaim)`);
  }
  const claims = spec?.resourceClaims ?? [];
  if (claims.length > 0) out.push(`DRA resource claims (${claims.map((c) => c.name).join(', ')})`);
  const extended = new Set<string>();
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])])
    for (const r of [c.resources?.requests, c.resources?.limits])
      for (const k of Object.keys(r ?? {})) if (!MODELLED_RESOURCES.has(k)) extended.add(k);
  if (extended.size > 0) out.push(`requests ${[...extended].sort().join(', ')}, which the planner does not model`);
  if (spec?.resources?.requests || spec?.resources?.limits) out.push('pod-level resources');
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.some((t) => (t.matchFields ?? []).length > 0)) out.push('required node affinity by field (matchFields)');
  const odd = terms?.flatMap((t) => t.matchExpressions ?? []).find((r) => !OPS.has(r.operator));
  if (odd) out.push(`node affinity operator ${odd.operator}`);
  if (spec?.schedulerName && spec.schedulerName !== 'default-scheduler')
    out.push(`scheduler ${spec.schedulerName} places it, not kube-scheduler`);
  return out;
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
  const namespace = pod.metadata?.namespace ?? 'default';
  const labels = pod.metadata?.labels ?? {};
  const unsupported = unjudgeable(pod.spec);
  const podAffinity = pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.map((t) =>
    interPodTerm(t, { namespace, labels }, 'affinity', unsupported),
  );
  const podAntiAffinity = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.map(
    (t) => interPodTerm(t, { namespace, labels }, 'anti-affinity', unsupported),
  );
  const topologySpread = spreadConstraints(pod.spec, labels, unsupported);
  // Every key always present, in one order: the planner's hot loops stay monomorphic.
  return {
    namespace,
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
    labels,
    annotations,
    isDaemonSet: controller?.kind === 'DaemonSet',
    isMirror: annotations['kubernetes.io/config.mirror'] !== undefined,
    deleting: pod.metadata?.deletionTimestamp !== undefined,
    podAffinity: podAffinity && podAffinity.length > 0 ? podAffinity : undefined,
    podAntiAffinity: podAntiAffinity && podAntiAffinity.length > 0 ? podAntiAffinity : undefined,
    topologySpread,
    hostPorts: hostPorts(pod.spec),
    unsupported: unsupported.length > 0 ? unsupported : undefined,
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
