/**
 * Taints a node carries while it starts: the node lifecycle controller keeps `not-ready` for a few seconds after
 * the node turns Ready, and the scheduler places nothing there until they go. A VM whose Node still has one is
 * capacity on its way, not capacity.
 */
export const STARTUP_TAINTS: ReadonlySet<string> = new Set([
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.cloudprovider.kubernetes.io/uninitialized',
]);
