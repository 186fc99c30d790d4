import type { CoreV1Api } from '@kubernetes/client-node';
import type { ClusterCache } from '../kube/cluster-cache.js';
import type { PlanRequest, PlanResult } from '../shared/plan-contract.js';
import { createDrainActivities, type DrainRules } from './drain.js';
import { createEvaluationActivities } from './evaluation.js';
import { createNodeActivities } from './nodes.js';
import type { FullPlan } from './plan-scaling.js';
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
  /** The worker's last full plan (every node's verdict), for operator commands. */
  lastFullPlan?: () => FullPlan | undefined;
  /** The node groups of the cloud-config. */
  managedGroups?: ReadonlySet<string>;
  /** What a drain may never evict, as the planner judges it. */
  drainRules?: DrainRules;
  /** The orphan sweep (see reconcile.ts). */
  reconcile: (args: { busyOperations: string[]; busyNodes: string[] }) => Promise<OrphanFinding[]>;
}

/** All activities, as one object for `Worker.create({ activities })`; workflows import only its type. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createVmActivities(deps),
    ...createNodeActivities(deps),
    ...createDrainActivities({ ...deps, pdbs: () => deps.cache.pdbs(), rules: deps.drainRules }),
    ...createEvaluationActivities(deps),
    /** Finds and cleans up VMs and Nodes no operation owns, and taints no removal owns any more. */
    async reconcile(args: { busyOperations: string[]; busyNodes: string[] }): Promise<OrphanFinding[]> {
      return deps.reconcile(args);
    },
  };
}

/** The activities of the joins queue: waiting for VMs to become Nodes, apart from everything else. */
export function createJoinActivities(deps: Pick<ActivityDeps, 'core' | 'cache' | 'now'>) {
  const { awaitNodeReady } = createNodeActivities(deps);
  return { awaitNodeReady };
}

export type Activities = ReturnType<typeof createActivities>;
