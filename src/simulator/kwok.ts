// How the local stack's KWOK is told which Nodes to play a kubelet for, shared by the stack (which starts KWOK with
// this selector) and the simulator (which sets it on the Nodes its VMs register).

/** KWOK manages only Nodes with this annotation, which the Slicer simulator sets when a VM "joins". */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const KWOK_NODE_VALUE = 'fake';

/**
 * Who holds the lease of a Node whose simulated VM is gone. KWOK (0.8) lets go of a Node only when it is deleted:
 * removing the annotation above does not stop it renewing the Node's lease, and a lease it finds missing it creates
 * again and re-initialises the Node to Ready. It does leave alone a Node whose lease another holder keeps, so the
 * simulator stops a kubelet by taking its lease.
 */
export const STOPPED_KUBELET_HOLDER = 'slicer-simulator/kubelet-stopped';
