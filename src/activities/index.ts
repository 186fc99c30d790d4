import type { CoreV1Api } from '@kubernetes/client-node';
import type { ClusterCache } from '../kube/cluster-cache.js';
import { createDrainActivities } from './drain.js';
import { createEvaluationActivities } from './evaluation.js';
import { createNodeActivities } from './nodes.js';
import type { PlanRequest, PlanResult } from './plan-contract.js';
import type { OrphanFinding } from './reconcile.js';
import type { VmProvider } from './vm-provider.js';
import { createVmActivities } from './vms.js';

/** Everything activities need, built once by the worker; secrets stay inside `vms`. */
export interface ActivityDeps {
  vms: VmProvider;
  core: CoreV1Api;
  cluster: string;
  now?: () => number;
  pollIntervalMs?: number;
  cache: ClusterCache;
  plan: (req: PlanRequest) => Promise<PlanResult>;
  /** The orphan sweep (see reconcile.ts). */
  reconcile: (args: { busyOperations: string[]; busyNodes: string[] }) => Promise<OrphanFinding[]>;
}

/** All activities, as one object for `Worker.create({ activities })`; workflows import only its type. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createVmActivities(deps),
    ...createNodeActivities(deps),
    ...createDrainActivities(deps),
    ...createEvaluationActivities(deps),
    /** Finds and cleans up VMs and Nodes no operation owns. */
    async reconcile(args: { busyOperations: string[]; busyNodes: string[] }): Promise<OrphanFinding[]> {
      return deps.reconcile(args);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
