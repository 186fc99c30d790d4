import type { Capacity, LabelSelector, PodInfo, Resources, SelectorRequirement, Taint, Toleration } from './types.js';

// Scheduling predicates over plain data: what kube-scheduler would check for a pod on a node or a template.

/** x86_64 and amd64 are the same machine; aarch64 and arm64 too. */
export function normaliseArch(arch: string): string {
  const a = arch.toLowerCase();
  if (a === 'x86_64' || a === 'x86-64') return 'amd64';
  if (a === 'aarch64') return 'arm64';
  return a;
}

function labelValue(labels: Record<string, string>, key: string): string | undefined {
  const v = labels[key];
  return key === 'kubernetes.io/arch' && v !== undefined ? normaliseArch(v) : v;
}

/** One node selector requirement against a label set (arch values compared normalised). */
export function requirementMatches(labels: Record<string, string>, r: SelectorRequirement): boolean {
  const v = labelValue(labels, r.key);
  const values = r.key === 'kubernetes.io/arch' ? (r.values ?? []).map(normaliseArch) : (r.values ?? []);
  switch (r.operator) {
    case 'In':
      return v !== undefined && values.includes(v);
    case 'NotIn':
      return v === undefined || !values.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
      return v !== undefined && Number(v) > Number(values[0]);
    case 'Lt':
      return v !== undefined && Number(v) < Number(values[0]);
  }
}

/** Node selector and required node affinity (OR of terms, AND within a term). */
export function selectorMatches(pod: PodInfo, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(pod.nodeSelector)) {
    const want = k === 'kubernetes.io/arch' ? normaliseArch(v) : v;
    if (labelValue(labels, k) !== want) return false;
  }
  if (pod.requiredAffinity && pod.requiredAffinity.length > 0) {
    return pod.requiredAffinity.some((term) => term.every((r) => requirementMatches(labels, r)));
  }
  return true;
}

/** A pod label selector; null selects nothing and an empty one everything, as in Kubernetes. */
export function labelSelectorMatches(selector: LabelSelector | null, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const k in selector.matchLabels) if (labels[k] !== selector.matchLabels[k]) return false;
  for (const r of selector.matchExpressions) if (!requirementMatches(labels, r)) return false;
  return true;
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint the pod does not tolerate (PreferNoSchedule never blocks). */
export function untoleratedTaint(pod: PodInfo, taints: Taint[]): Taint | undefined {
  return taints.find(
    (taint) => taint.effect !== 'PreferNoSchedule' && !pod.tolerations.some((t) => tolerates(t, taint)),
  );
}

/** What is missing for `need` to fit into `free`, or undefined if it fits. */
export function shortfall(
  need: Resources,
  free: Capacity,
): { cpuMilli: number; memoryBytes: number; pods: number } | undefined {
  const cpu = need.cpuMilli - free.cpuMilli;
  const mem = need.memoryBytes - free.memoryBytes;
  const pods = 1 - free.pods;
  return cpu > 0 || mem > 0 || pods > 0
    ? { cpuMilli: Math.max(0, cpu), memoryBytes: Math.max(0, mem), pods: Math.max(0, pods) }
    : undefined;
}

/** Whether requests fit into free room, one pod slot included. */
export function fitsIn(need: Resources, free: Capacity): boolean {
  return need.cpuMilli <= free.cpuMilli && need.memoryBytes <= free.memoryBytes && free.pods >= 1;
}

/**
 * A key that is equal for pods the scheduler would treat alike, so predicates run once per class: requests, node
 * constraints and, for pods that have any, inter-pod terms, spread constraints and host ports with the namespace
 * and labels those read (a term may select the pod itself).
 */
export function equivalenceKey(pod: PodInfo): string {
  const base = `${pod.requests.cpuMilli}/${pod.requests.memoryBytes}/${constraintKey(pod)}`;
  if (!pod.podAffinity && !pod.podAntiAffinity && !pod.topologySpread && !pod.hostPorts) return base;
  return `${base}/${JSON.stringify([
    pod.namespace,
    pod.labels,
    pod.podAffinity ?? null,
    pod.podAntiAffinity ?? null,
    pod.topologySpread ?? null,
    pod.hostPorts ?? null,
  ])}`;
}

/** The part of the equivalence key that labels and taints decide: pods equal here fit the same nodes, size aside. */
export function constraintKey(pod: PodInfo): string {
  return JSON.stringify([pod.nodeSelector, pod.requiredAffinity ?? null, pod.tolerations]);
}
