import type { V1Container, V1Node, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';

// The cache keeps every Node and live Pod of the cluster; at 1,000 nodes x 30 pods, what the API sends is mostly
// bookkeeping the autoscaler never reads. These keep the scheduling-relevant parts (requests, selectors,
// affinity, tolerations, topology spread, ports, volumes, owners, conditions) and drop the rest.

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function slimMeta(meta: V1ObjectMeta | undefined): V1ObjectMeta | undefined {
  if (!meta) return meta;
  const { managedFields: _managed, ...rest } = meta;
  if (rest.annotations?.[LAST_APPLIED] === undefined) return rest;
  const { [LAST_APPLIED]: _applied, ...annotations } = rest.annotations;
  return { ...rest, annotations };
}

/** A container as scheduling sees it: its name, resources, ports and (for sidecars) restart policy. */
function slimContainer(c: V1Container): V1Container {
  return {
    name: c.name,
    ...(c.resources && { resources: c.resources }),
    ...(c.ports && { ports: c.ports }),
    ...(c.restartPolicy && { restartPolicy: c.restartPolicy }),
  };
}

export function slimPod(pod: V1Pod): V1Pod {
  const spec = pod.spec;
  return {
    ...pod,
    metadata: slimMeta(pod.metadata),
    ...(spec && {
      spec: {
        ...spec,
        containers: (spec.containers ?? []).map(slimContainer),
        ...(spec.initContainers && { initContainers: spec.initContainers.map(slimContainer) }),
        ephemeralContainers: undefined,
      },
    }),
    ...(pod.status && {
      status: {
        phase: pod.status.phase,
        conditions: pod.status.conditions,
        ...(pod.status.nominatedNodeName && { nominatedNodeName: pod.status.nominatedNodeName }),
      },
    }),
  };
}

export function slimNode(node: V1Node): V1Node {
  return {
    ...node,
    metadata: slimMeta(node.metadata),
    ...(node.status && {
      status: {
        conditions: node.status.conditions,
        capacity: node.status.capacity,
        allocatable: node.status.allocatable,
        ...(node.status.nodeInfo && {
          nodeInfo: { ...node.status.nodeInfo },
        }),
      },
    }),
  };
}
