import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { OrphanFinding } from './reconcile.js';
import type { VmProvider } from './vm-provider.js';

// `worker --dry-run`: the evaluator records what it would do instead of starting operations (AutoscalerInput.dryRun).
// These guards are the second wall, in the worker: even an operation started by hand, or by an evaluator that is
// not in dry-run, cannot create or delete a VM, or change a Node or a Pod, through this worker.

/** The failure type every refused call raises; final, so Temporal does not retry it. */
export const DRY_RUN_REFUSED = 'DryRunRefused';

function refuse(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`dry-run: this worker never ${what}`, DRY_RUN_REFUSED);
}

/** Reads pass through; createVm and deleteVm are refused. */
export function dryRunVmProvider(vms: VmProvider): VmProvider {
  return {
    findVmsByTag: (group, tag) => vms.findVmsByTag(group, tag),
    listVms: (group) => vms.listVms(group),
    consoleTail: (group, hostname, lines) => vms.consoleTail(group, hostname, lines),
    createVm: async (group) => {
      throw refuse(`creates VMs (asked for one in ${group})`);
    },
    deleteVm: async (group, hostname) => {
      throw refuse(`deletes VMs (asked to delete ${group}/${hostname})`);
    },
  };
}

/** The only writes a dry-run core lets through: Events and the status ConfigMap (verdict annotations use the real one). */
const ALLOWED_WRITES = new Set(['createNamespacedEvent', 'createNamespacedConfigMap', 'replaceNamespacedConfigMap']);
const WRITE = /^(create|delete|patch|replace|connect)/;

/**
 * A CoreV1Api whose writes are refused, except Events and the status ConfigMap: no cordon, taint, eviction or Node
 * deletion can pass, whichever activity asks. New activities are covered without listing them.
 */
export function dryRunCore(core: CoreV1Api): CoreV1Api {
  return new Proxy(core, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      if (WRITE.test(prop) && !ALLOWED_WRITES.has(prop))
        return async () => {
          throw refuse(`writes to Kubernetes (${prop})`);
        };
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/**
 * The orphan sweep in dry-run: it runs on a VM provider and a CoreV1Api that record deletes instead of making
 * them, and its findings say what it would have done (`action: 'reported'`, reason prefixed "dry-run: would ...").
 * It never repairs a stale taint either (no `untaint` is given).
 */
export function dryRunReconcile(
  build: (deps: { core: CoreV1Api; vms: VmProvider }) => {
    reconcile(args: { busyOperations: string[]; busyNodes: string[] }): Promise<OrphanFinding[]>;
  },
  core: CoreV1Api,
  vms: VmProvider,
): (args: { busyOperations: string[]; busyNodes: string[] }) => Promise<OrphanFinding[]> {
  // Deletes the sweep decides on are answered (and turned into "would have" below); every other write is refused.
  const recordingCore = new Proxy(dryRunCore(core), {
    get(target, prop, receiver) {
      if (prop === 'deleteNode') return async () => ({});
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const recordingVms: VmProvider = {
    ...dryRunVmProvider(vms),
    deleteVm: async () => ({ existed: true }),
  };
  const { reconcile } = build({ core: recordingCore, vms: recordingVms });
  return async (args) =>
    (await reconcile(args)).map((f) =>
      f.action === 'reported'
        ? f
        : {
            ...f,
            action: 'reported',
            reason: `dry-run: would have ${f.action === 'deleted-vm' ? 'deleted the VM' : f.action === 'untainted' ? 'untainted the Node' : 'deleted the Node'}; ${f.reason}`,
          },
    );
}

/**
 * Whether the running evaluator `workflowId` was started in dry-run (read from its current run's start event, so no
 * worker has to answer a query), or undefined when none is running.
 */
export async function runningEvaluatorDryRun(client: Client, workflowId: string): Promise<boolean | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  });
  if (description?.status.name !== 'RUNNING') return undefined;
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId: description.runId },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  const input = defaultPayloadConverter.fromPayload<{ dryRun?: boolean }>(payload);
  return input?.dryRun === true;
}
