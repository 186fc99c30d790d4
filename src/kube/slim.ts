import type {
  V1Container,
  V1ContainerPort,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1PodCondition,
  V1PodSpec,
  V1Volume,
} from '@kubernetes/client-node';

// The cache keeps every Node and live Pod of the cluster; at 1,000 nodes x 30 pods, what the API sends is mostly
// bookkeeping the autoscaler never reads. A cached Pod keeps only what the planner (src/kube/snapshot.ts), the watch
// (src/activities/evaluation.ts) and Events read: identity and owners, labels and annotations, requests, selectors,
// affinity, tolerations, topology spread, host ports, the volumes and claims that decide whether it may move, its
// phase and its PodScheduled condition. Everything else (the service-account volume, container images and mounts,
// defaulted policies, container statuses, IPs) is dropped: about 8 KB per pod in V8's heap down to about 1.5 KB.

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const DEFAULT_SCHEDULER = 'default-scheduler';

function slimMeta(meta: V1ObjectMeta | undefined): V1ObjectMeta | undefined {
  if (!meta) return meta;
  let annotations = meta.annotations;
  if (annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _applied, ...rest } = annotations;
    annotations = rest;
  }
  return {
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    creationTimestamp: meta.creationTimestamp,
    ...(meta.deletionTimestamp && { deletionTimestamp: meta.deletionTimestamp }),
    ...(meta.labels && { labels: meta.labels }),
    ...(annotations && { annotations }),
    ...(meta.ownerReferences && {
      ownerReferences: meta.ownerReferences.map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.name,
        uid: o.uid,
        ...(o.controller !== undefined && { controller: o.controller }),
      })),
    }),
  };
}

/** Host ports only: a container port counts for scheduling when it takes a host port (or the pod the host network). */
function slimPorts(ports: V1ContainerPort[] | undefined, hostNetwork: boolean): V1ContainerPort[] | undefined {
  const kept = (ports ?? []).filter((p) => p.hostPort || hostNetwork);
  return kept.length > 0 ? kept : undefined;
}

/** A container as scheduling sees it: its name, resources, host ports and (for sidecars) restart policy. */
function slimContainer(c: V1Container, hostNetwork: boolean): V1Container {
  const ports = slimPorts(c.ports, hostNetwork);
  return {
    name: c.name,
    ...(c.resources && { resources: c.resources }),
    ...(ports && { ports }),
    ...(c.restartPolicy && { restartPolicy: c.restartPolicy }),
  };
}

/** Volumes that decide whether a pod may move (claims, local storage); others, like the token volume, go. */
function slimVolumes(volumes: V1Volume[] | undefined): V1Volume[] | undefined {
  const kept = (volumes ?? []).flatMap((v): V1Volume[] => {
    if (v.persistentVolumeClaim) return [{ name: v.name, persistentVolumeClaim: v.persistentVolumeClaim }];
    if (v.ephemeral) return [{ name: v.name, ephemeral: {} }];
    if (v.hostPath) return [{ name: v.name, hostPath: v.hostPath }];
    if (v.emptyDir) return [{ name: v.name, emptyDir: v.emptyDir.medium ? { medium: v.emptyDir.medium } : {} }];
    return [];
  });
  return kept.length > 0 ? kept : undefined;
}

function slimSpec(spec: V1PodSpec): V1PodSpec {
  const hostNetwork = spec.hostNetwork === true;
  const volumes = slimVolumes(spec.volumes);
  return {
    containers: (spec.containers ?? []).map((c) => slimContainer(c, hostNetwork)),
    ...(spec.initContainers && { initContainers: spec.initContainers.map((c) => slimContainer(c, hostNetwork)) }),
    ...(spec.nodeName && { nodeName: spec.nodeName }),
    ...(spec.nodeSelector && { nodeSelector: spec.nodeSelector }),
    ...(spec.affinity && { affinity: spec.affinity }),
    ...(spec.tolerations && { tolerations: spec.tolerations }),
    ...(spec.topologySpreadConstraints && { topologySpreadConstraints: spec.topologySpreadConstraints }),
    ...(spec.priority !== undefined && { priority: spec.priority }),
    ...(spec.overhead && { overhead: spec.overhead }),
    ...(hostNetwork && { hostNetwork }),
    ...(spec.schedulerName && spec.schedulerName !== DEFAULT_SCHEDULER && { schedulerName: spec.schedulerName }),
    ...(spec.resourceClaims && { resourceClaims: spec.resourceClaims }),
    ...(spec.resources && { resources: spec.resources }),
    ...(volumes && { volumes }),
  };
}

/** The PodScheduled condition without its message (the scheduler's text can be long and is never read). */
function slimConditions(conditions: V1PodCondition[] | undefined): V1PodCondition[] | undefined {
  const scheduled = conditions?.find((c) => c.type === 'PodScheduled');
  if (!scheduled) return undefined;
  return [
    {
      type: scheduled.type,
      status: scheduled.status,
      ...(scheduled.reason && { reason: scheduled.reason }),
      ...(scheduled.lastTransitionTime && { lastTransitionTime: scheduled.lastTransitionTime }),
    },
  ];
}

export function slimPod(pod: V1Pod): V1Pod {
  const conditions = slimConditions(pod.status?.conditions);
  return {
    metadata: slimMeta(pod.metadata),
    ...(pod.spec && { spec: slimSpec(pod.spec) }),
    ...(pod.status && {
      status: {
        phase: pod.status.phase,
        ...(conditions && { conditions }),
        ...(pod.status.nominatedNodeName && { nominatedNodeName: pod.status.nominatedNodeName }),
      },
    }),
  };
}

export function slimNode(node: V1Node): V1Node {
  return {
    metadata: slimMeta(node.metadata),
    ...(node.spec && {
      spec: {
        ...(node.spec.taints && { taints: node.spec.taints }),
        ...(node.spec.unschedulable !== undefined && { unschedulable: node.spec.unschedulable }),
        ...(node.spec.providerID && { providerID: node.spec.providerID }),
      },
    }),
    ...(node.status && {
      status: {
        conditions: node.status.conditions,
        capacity: node.status.capacity,
        allocatable: node.status.allocatable,
      },
    }),
  };
}
