// Workflow IDs are readable and unique per thing they own, so operators can address them with `temporal workflow
// describe -w <id>` and a thing is never in two operations at once. Nothing here is ever reused: Slicer reuses
// hostnames and an evaluator may start again with empty state, so identities carry a random operation ID.

/** The task queue every slicer-autoscaler worker polls. */
export const TASK_QUEUE = 'slicer-autoscaler';

/** Prefix of every tag and label slicer-autoscaler sets. */
const PREFIX = 'slicer-autoscaler';

/** `scale-up/<group>/<cluster>-<opId>`: one scale-up operation of one node group; `opId` is random, never reused. */
export function scaleUpWorkflowId(group: string, cluster: string, opId: string): string {
  return `scale-up/${group}/${cluster}-${opId}`;
}

/**
 * The Slicer tag that marks a VM as created by one slot of one operation. A retried create lists by this tag
 * first, so a create whose response was lost never makes a second VM.
 */
export function operationTag(workflowId: string, slot: number): string {
  return `${PREFIX}/op=${workflowId}#${slot}`;
}

/** The prefix of every operation tag of one workflow, for the orphan sweep. */
export function operationTagPrefix(workflowId: string): string {
  return `${PREFIX}/op=${workflowId}#`;
}

/** One VM's identity, `<opId>-<slot>`: a valid label value, never reused (unlike the hostname). */
export function vmId(opId: string, slot: number): string {
  return `${opId}-${slot}`;
}

/** Slicer tag carrying the VM's identity; the Node carries the same value in `VM_ID_LABEL`. */
export function vmTag(id: string): string {
  return `${PREFIX}/vm=${id}`;
}

/** The VM identity a tag list carries, if any. */
export function vmIdOfTags(tags: readonly string[]): string | undefined {
  const tag = tags.find((t) => t.startsWith(`${PREFIX}/vm=`));
  return tag?.slice(`${PREFIX}/vm=`.length);
}

/** Node label set at join time (through the userdata) that links a Node to exactly one VM. */
export const VM_ID_LABEL = `${PREFIX}/vm-id`;

/** Tag on every VM we create, so the reconciler can tell our VMs from ones an operator made by hand. */
export function clusterTag(cluster: string): string {
  return `${PREFIX}/cluster=${cluster}`;
}

/** `scale-down/<node>`: at most one removal of a node at a time. */
export function scaleDownWorkflowId(node: string): string {
  return `scale-down/${node}`;
}

/** `autoscaler/<cluster>`: the one evaluator of a cluster. */
export function autoscalerWorkflowId(cluster: string): string {
  return `autoscaler/${cluster}`;
}

/** A random operation ID from a UUID (in workflows, `uuid4()` is deterministic on replay). */
export function opIdFrom(uuid: string): string {
  return uuid.replace(/-/g, '');
}

/** The task queue that only waits for VMs to join, beside a worker's main queue (see worker.ts). */
export function joinsTaskQueue(taskQueue: string): string {
  return `${taskQueue}/joins`;
}
