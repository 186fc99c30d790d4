import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createActivities, createJoinActivities } from './activities/index.js';
import { createPlanScaling, plannerOptions } from './activities/plan-scaling.js';
import { createReconcileActivities } from './activities/reconcile.js';
import { createSlicerVmProvider } from './activities/slicer-provider.js';
import type { FlagOptions } from './config/flags.js';
import { loadConfig, type Config } from './config/load.js';
import { ClusterCache } from './kube/cluster-cache.js';
import { autoscalerWorkflowId, joinsTaskQueue, scaleDownWorkflowId, TASK_QUEUE } from './shared/ids.js';
import { createDrainActivities } from './activities/drain.js';
import { ALL_SEARCH_ATTRIBUTES } from './workflows/search-attributes.js';

/** How many VMs one worker waits for at once; each wait is a cheap cache subscription, not a poll. */
const MAX_JOINS_WAITING = 1000;

export interface WorkerOptions {
  configPath: string;
  flags: FlagOptions;
  temporalAddress: string;
  namespace: string;
  /** A kubeconfig file; default: $KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** /healthz and /readyz; 0 = none. */
  healthPort?: number;
  /** Namespace of the cluster-autoscaler-status ConfigMap. */
  statusNamespace?: string;
  log?: (line: string) => void;
}

export interface RunningWorker {
  config: Config;
  worker: Worker;
  /** Resolves when the worker has stopped. */
  done: Promise<unknown>;
  shutdown(): Promise<void>;
}

/** Checks that our search attributes exist on the server, and says how to add them if not. */
async function checkSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(res.customAttributes ?? {}));
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !known.has(k.name));
  if (missing.length) {
    throw new Error(
      `the Temporal namespace '${namespace}' lacks search attributes ${missing.map((k) => k.name).join(', ')}; add them with:\n` +
        missing
          .map(
            (k) =>
              `  temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type Keyword`,
          )
          .join('\n'),
    );
  }
}

/**
 * Starts a slicer-autoscaler worker: loads the cloud-config (secrets stay here), warms the cluster cache, registers
 * workflows and activities, and makes sure the evaluator `autoscaler/<cluster>` runs.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const config = loadConfig(opts.configPath);
  for (const w of config.warnings) log(`warning: ${w}`);

  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const core = kc.makeApiClient(CoreV1Api);
  const cache = new ClusterCache(kc, log);
  // The worker starts either way; until the cache is complete, planning refuses and /readyz says why.
  if (await cache.start()) log(`cluster cache warm: ${cache.nodes().length} nodes, ${cache.pods().length} live pods`);
  else log(`cluster cache not complete yet (${cache.staleness()}); planning waits for it`);

  const vms = createSlicerVmProvider(config);
  const planner = createPlanScaling({
    config,
    flags: opts.flags,
    cache,
    core,
    statusNamespace: opts.statusNamespace,
    listHostGroups: (group, signal) => vms.client(group).listHostGroups({ signal }),
    log,
  });
  const options = plannerOptions(config, opts.flags);

  const clientConnection = await Connection.connect({ address: opts.temporalAddress });
  await checkSearchAttributes(clientConnection, opts.namespace);
  const client = new Client({ connection: clientConnection, namespace: opts.namespace });
  const reconciler = createReconcileActivities({
    config,
    core,
    vms,
    untaint: (node) => createDrainActivities({ core }).untaintAndUncordon({ node }),
    removalRunning: async (node) => {
      try {
        return (await client.workflow.getHandle(scaleDownWorkflowId(node)).describe()).status.name === 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },
  });
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const bundlePath = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: TASK_QUEUE,
    ...(existsSync(bundlePath)
      ? { workflowBundle: { codePath: bundlePath } }
      : {
          workflowsPath: fileURLToPath(
            new URL(`./workflows/index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
          ),
        }),
    activities: createActivities({
      vms,
      core,
      cluster: config.clusterName,
      cache,
      plan: planner.planScaling,
      lastFullPlan: planner.lastFullPlan,
      managedGroups: new Set(config.groups.map((g) => g.name)),
      drainRules: options,
      reconcile: reconciler.reconcile,
    }),
    // Cancellation reaches an activity only with a heartbeat's answer: at most a second late, not 80% of the
    // heartbeat timeout (a continue-as-new must stop the old watch at once).
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    shutdownGraceTime: '20s',
  });
  // Waiting for VMs to join has its own queue and slots: a hundred joining VMs never delay a plan.
  const joinWorker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: joinsTaskQueue(TASK_QUEUE),
    activities: createJoinActivities({ core, cache }),
    maxConcurrentActivityTaskExecutions: MAX_JOINS_WAITING,
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    shutdownGraceTime: '5s',
  });

  const evaluatorId = autoscalerWorkflowId(config.clusterName);
  try {
    await client.workflow.start('autoscalerWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: evaluatorId,
      args: [
        {
          cluster: config.clusterName,
          scanIntervalMs: opts.flags.scanIntervalMs,
          backoffInitialMs: opts.flags.initialNodeGroupBackoffMs,
          backoffMaxMs: opts.flags.maxNodeGroupBackoffMs,
        },
      ],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `slicer-autoscaler evaluator for ${config.clusterName}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  log(`evaluator ${evaluatorId} running on task queue ${TASK_QUEUE}`);

  let health: Server | undefined;
  if (opts.healthPort) {
    health = createServer((req, res) => {
      const state = worker.getState();
      const stale = cache.staleness();
      const ok =
        req.url === '/readyz'
          ? state === 'RUNNING' && stale === undefined
          : state === 'RUNNING' || state === 'INITIALIZED';
      res.statusCode = ok ? 200 : 503;
      res.end(ok ? 'ok' : state !== 'RUNNING' ? state : `cache not synced: ${stale}`);
    });
    health.listen(opts.healthPort);
  }

  const done = Promise.all([worker.run(), joinWorker.run()]).finally(async () => {
    health?.close();
    await cache.stop();
    await vms.close();
    await clientConnection.close();
    await connection.close();
  });
  return {
    config,
    worker,
    done,
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (joinWorker.getState() === 'RUNNING') joinWorker.shutdown();
      await done;
    },
  };
}
