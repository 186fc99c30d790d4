import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createActivities } from './activities/index.js';
import { dryRunCore, dryRunReconcile, dryRunVmProvider, runningEvaluatorDryRun } from './activities/dry-run.js';
import { createSteerActivities } from './activities/steer.js';
import { createPlanScaling } from './activities/plan-scaling.js';
import { createReconcileActivities } from './activities/reconcile.js';
import { createSlicerVmProvider } from './activities/slicer-provider.js';
import type { FlagOptions } from './config/flags.js';
import { loadConfig, type Config } from './config/load.js';
import { ClusterCache } from './kube/cluster-cache.js';
import { autoscalerWorkflowId, TASK_QUEUE } from './workflows/ids.js';
import { ALL_SEARCH_ATTRIBUTES } from './workflows/search-attributes.js';

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
  /** Plan and record, never create or delete a VM or touch a Node or Pod (see activities/dry-run.ts). */
  dryRun?: boolean;
  /** How often the evaluator sweeps for orphans; default 5 minutes (the demo's scenarios shorten it). */
  reconcileIntervalMs?: number;
}

export interface RunningWorker {
  config: Config;
  worker: Worker;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
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
  await cache.start();
  log(`cluster cache warm: ${cache.nodes().length} nodes, ${cache.pods().length} live pods`);

  const vms = createSlicerVmProvider(config);
  const plan = createPlanScaling({
    config,
    flags: opts.flags,
    cache,
    core,
    statusNamespace: opts.statusNamespace,
    listHostGroups: (group) => vms.client(group).listHostGroups(),
    log,
  });

  const clientConnection = await Connection.connect({ address: opts.temporalAddress });
  await checkSearchAttributes(clientConnection, opts.namespace);
  const client = new Client({ connection: clientConnection, namespace: opts.namespace });
  const evaluatorId = autoscalerWorkflowId(config.clusterName);
  // Workers of one cluster share a task queue: a dry-run worker would refuse a real evaluator's operations, and a
  // real worker would serve a dry-run evaluator that never acts. Refuse the mix rather than half-work.
  const running = await runningEvaluatorDryRun(client, evaluatorId);
  if (running !== undefined && running !== (opts.dryRun ?? false)) {
    await cache.stop();
    await clientConnection.close();
    throw new Error(
      `evaluator ${evaluatorId} runs ${running ? 'in dry-run' : 'for real'}, but this worker was started ${opts.dryRun ? 'with' : 'without'} --dry-run; ` +
        `stop it first (temporal workflow terminate -w ${evaluatorId}) or use another cluster-name`,
    );
  }
  if (opts.dryRun) log('dry-run: this worker never creates or deletes VMs, and never cordons, drains or deletes Nodes');
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
    activities: {
      ...createActivities({
        vms: opts.dryRun ? dryRunVmProvider(vms) : vms,
        core: opts.dryRun ? dryRunCore(core) : core,
        cluster: config.clusterName,
        cache,
        plan,
        reconcile: opts.dryRun
          ? dryRunReconcile(
              (d) => createReconcileActivities({ config, ...d }),
              core,
              (g) => vms.client(g),
            )
          : createReconcileActivities({ config, core, slicer: (g) => vms.client(g) }).reconcile,
      }),
      ...createSteerActivities(),
    },
    shutdownGraceTime: '20s',
  });

  try {
    await client.workflow.start('autoscalerWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: evaluatorId,
      args: [
        {
          cluster: config.clusterName,
          scanIntervalMs: opts.flags.scanIntervalMs,
          dryRun: opts.dryRun,
          reconcileIntervalMs: opts.reconcileIntervalMs,
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
      const ok =
        req.url === '/readyz'
          ? state === 'RUNNING' && cache.nodes() !== undefined
          : state === 'RUNNING' || state === 'INITIALIZED';
      res.statusCode = ok ? 200 : 503;
      res.end(ok ? 'ok' : state);
    });
    health.listen(opts.healthPort);
  }

  const done = worker.run().finally(async () => {
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
      worker.shutdown();
      await done;
    },
  };
}
