// Workflow IDs are readable and unique per thing they own, so operators can address them with `temporal workflow
// describe -w <id>` and a thing is never in two operations at once.

/**
 * `slicer-autoscaler/<cluster>`: the task queue a cluster's workers poll. One per cluster, so clusters sharing a
 * Temporal namespace never run each other's activities (with the wrong kubeconfig and tokens). Child workflows and
 * activities inherit their parent's queue, so everything of a cluster stays on it.
 */
export function taskQueueFor(cluster: string): string {
  return `slicer-autoscaler/${cluster}`;
}

/** `scale-up/<group>/<seq>`: one scale-up operation of one node group. */
export function scaleUpWorkflowId(group: string, seq: number | string): string {
  return `scale-up/${group}/${seq}`;
}

/**
 * The Slicer tag that marks a VM as created by one slot of one operation. A retried create lists by this tag
 * first, so a create whose response was lost never makes a second VM.
 */
export function operationTag(workflowId: string, slot: number): string {
  return `slicer-autoscaler/op=${workflowId}#${slot}`;
}

/** Tag on every VM we create, so the reconciler can tell our VMs from ones an operator made by hand. */
export function clusterTag(cluster: string): string {
  return `slicer-autoscaler/cluster=${cluster}`;
}

/** `scale-down/<node>`: at most one removal of a node at a time. */
export function scaleDownWorkflowId(node: string): string {
  return `scale-down/${node}`;
}

/** `autoscaler/<cluster>`: the one evaluator of a cluster. */
export function autoscalerWorkflowId(cluster: string): string {
  return `autoscaler/${cluster}`;
}
