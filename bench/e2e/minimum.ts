import { cpuMilli, memoryBytes } from '../../src/planner/quantity.js';

/** A node shape: what the planner's template allocates (the simulator reports capacity = allocatable). */
export interface NodeShape {
  cpus: number;
  ramGib: number;
  /** Pods per node; KWOK nodes and k3s agents take 110. */
  maxPods?: number;
}

/** How many pods of one size fit on one node of a shape. */
export function podsPerNode(shape: NodeShape, pod: { cpu: string; memory: string }): number {
  const cpu = Math.floor((shape.cpus * 1000) / cpuMilli(pod.cpu));
  const mem = Math.floor((shape.ramGib * 1024 ** 3) / memoryBytes(pod.memory));
  return Math.min(cpu, mem, shape.maxPods ?? 110);
}

/**
 * The fewest nodes of one shape that hold `count` identical pods: with identical pods and nodes, first-fit is
 * optimal, so this is exact (not a bound).
 */
export function minimumNodes(count: number, shape: NodeShape, pod: { cpu: string; memory: string }): number {
  const per = podsPerNode(shape, pod);
  if (per < 1)
    throw new Error(`a pod of ${pod.cpu} CPU / ${pod.memory} never fits ${shape.cpus} CPU / ${shape.ramGib} GiB`);
  return Math.ceil(count / per);
}
