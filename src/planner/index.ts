// The planner's public surface.
export { plan } from './plan.js';
export { podRequests, type ContainerLike } from './pod-requests.js';
export { cpuMilli, memoryBytes, parseQuantity, formatCpu, formatMemory } from './quantity.js';
export { normaliseArch } from './fit.js';
export { PodReason, NodeReason, BlockReason } from './reasons.js';
export * from './types.js';
