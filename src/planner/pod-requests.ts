import { cpuMilli, memoryBytes } from './quantity.js';
import type { Resources } from './types.js';

/** The parts of a container spec that affect scheduling. */
export interface ContainerLike {
  resources?: { requests?: Record<string, string | number | undefined> };
  /** `Always` on an init container makes it a sidecar that keeps running. */
  restartPolicy?: string;
}

/**
 * What the scheduler reserves for a pod: the larger of (all app containers + sidecars) and the largest init
 * container (plus the sidecars started before it), plus the pod overhead. Same rule as kube-scheduler.
 */
export function podRequests(spec: {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  overhead?: Record<string, string | number | undefined>;
}): Resources {
  const res = (c: ContainerLike): Resources => ({
    cpuMilli: cpuMilli(c.resources?.requests?.['cpu']),
    memoryBytes: memoryBytes(c.resources?.requests?.['memory']),
  });
  const sum: Resources = { cpuMilli: 0, memoryBytes: 0 };
  for (const c of spec.containers ?? []) {
    const r = res(c);
    sum.cpuMilli += r.cpuMilli;
    sum.memoryBytes += r.memoryBytes;
  }
  const sidecars: Resources = { cpuMilli: 0, memoryBytes: 0 };
  let initMax: Resources = { cpuMilli: 0, memoryBytes: 0 };
  for (const c of spec.initContainers ?? []) {
    const r = res(c);
    if (c.restartPolicy === 'Always') {
      sidecars.cpuMilli += r.cpuMilli;
      sidecars.memoryBytes += r.memoryBytes;
      continue;
    }
    initMax = {
      cpuMilli: Math.max(initMax.cpuMilli, r.cpuMilli + sidecars.cpuMilli),
      memoryBytes: Math.max(initMax.memoryBytes, r.memoryBytes + sidecars.memoryBytes),
    };
  }
  const running = { cpuMilli: sum.cpuMilli + sidecars.cpuMilli, memoryBytes: sum.memoryBytes + sidecars.memoryBytes };
  return {
    cpuMilli: Math.max(running.cpuMilli, initMax.cpuMilli) + cpuMilli(spec.overhead?.['cpu']),
    memoryBytes: Math.max(running.memoryBytes, initMax.memoryBytes) + memoryBytes(spec.overhead?.['memory']),
  };
}
