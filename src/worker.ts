import type { Server } from 'node:http';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { createActivities, createJoinActivities } from './activities/index.js';
import { createDrainActivities } from './activities/drain.js';
import { dryRunCore, dryRunReconcile, dryRunVmProvider, runningEvaluatorDryRun } from './activities/dry-run.js';
import { createSteerActivities } from './activities/steer.js';
import { ReasonAnnotations } from './kube/annotations.js';
import { createPlanScaling } from './activities/plan-scaling.js';
import { createReconcileActivities } from './activities/reconcile.js';
import { createSlicerVmProvider } from './activities/slicer-provider.js';
import type { FlagOptions } from './config/flags.js';
import { loadConfig, type Config } from './config/load.js';
import { plannerOptions } from './activities/plan-scaling.js';
import { ClusterCache } from './kube/cluster-cache.js';
import { createLogger, humanLine, lineLogger, SecretScrubber, type AppLogger } from './logging.js';
import { DependencyProbe, liveness, UNREACHABLE_AFTER_MS } from './metrics/health.js';
import { Observer } from './metrics/observer.js';
import { createMetrics } from './metrics/registry.js';
import { installTemporalRuntime } from './metrics/temporal-runtime.js';
import { startHttpServer } from './metrics/server.js';
import type { TemporalConnectionOptions } from './temporal-connection.js';
import { autoscalerWorkflowId, joinsTaskQueue, scaleDownWorkflowId, taskQueueFor } from './shared/ids.js';
import { ALL_SEARCH_ATTRIBUTES } from './workflows/search-attributes.js';

export interface WorkerOptions {
  configPath: string;
  flags: FlagOptions;
  temporalAddress: string;
  namespace: string;
  /** TLS, API key and gRPC metadata for Temporal (see temporal-connection.ts); none = plain, no key. */
  temporalConnection?: Omit<TemporalConnectionOptions, 'address'>;
  /** A kubeconfig file; default: $KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** /metrics, /healthz and /readyz on this port (all interfaces); 0 or unset = no HTTP server. */
  healthPort?: number;
  /** Temporal SDK metrics (Prometheus) on this port, served by the Temporal runtime; 0 or unset = none. */
  temporalMetricsPort?: number;
  /** Namespace of the cluster-autoscaler-status ConfigMap. */
  statusNamespace?: string;
  /** klog-style `--v`: 0-2 info, 3-4 debug, 5+ trace. */
  verbosity?: number;
  /** The structured logger; default: JSON lines to stdout, or to `log` when given. */
  logger?: AppLogger;
  /** Human-readable sink for every log line instead of JSON on stdout (the demo shows them; tests silence them). */
  log?: (line: string) => void;
  /** /healthz fails once Temporal or the apiserver has been unreachable this long; @default 60 s */
  unreachableAfterMs?: number;
  /** How often Temporal and the apiserver are probed for /healthz; @default 10 s */
  probeIntervalMs?: number;
  /** Minimum time between status ConfigMap writes; @default 5 s */
  statusIntervalMs?: number;
  /** Plan and record, never create or delete a VM or touch a Node or Pod (see activities/dry-run.ts). */
  dryRun?: boolean;
  /** How often the evaluator sweeps for orphans; default 5 minutes (the demo's scenarios shorten it). */
  reconcileIntervalMs?: number;
}

/** How many VMs one worker waits for at once; each wait is a cheap cache subscription, not a poll. */
const MAX_JOINS_WAITING = 1000;

export interface RunningWorker {
  config: Config;
  worker: Worker;
  /** The task queue this worker polls: `slicer-autoscaler/<cluster>`. */
  taskQueue: string;
  /** The port /metrics, /healthz and /readyz answer on, if any. */
  healthPort?: number;
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
          .join('\n') +
        `\nor, on Temporal Cloud (namespace ID <namespace>.<account>, e.g. ${namespace}):\n` +
        `  tcld namespace search-attributes add --namespace ${namespace} ` +
        missing.map((k) => `--search-attribute "${k.name}=Keyword"`).join(' '),
    );
  }
}

/**
 * Starts a slicer-autoscaler worker: loads the cloud-config (secrets stay here), warms the cluster cache, registers
 * workflows and activities on the cluster's own task queue, and makes sure the evaluator `autoscaler/<cluster>` runs.
 * The HTTP server (/metrics, /healthz, /readyz) answers from the start, so /readyz says "not yet" while it warms up.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  // Flags apply to every group that does not set the same key itself ([nodegroup] beats a flag beats [global]).
  const config = loadConfig(opts.configPath, opts.flags);
  const scrubber = new SecretScrubber();
  scrubber.add(
    config.k3sToken.reveal(),
    ...config.groups.map((g) => g.slicerToken.reveal()),
    opts.temporalConnection?.apiKey,
    typeof opts.temporalConnection?.tls === 'object'
      ? opts.temporalConnection.tls.clientCertPair?.key.toString()
      : undefined,
    ...Object.values(opts.temporalConnection?.metadata ?? {}),
  );
  const logger =
    opts.logger ??
    createLogger({
      verbosity: opts.verbosity,
      scrubber,
      ...(opts.log && { destination: { write: (line: string) => opts.log!(humanLine(line)) } }),
    });
  const log = lineLogger(logger);
  for (const w of config.warnings) logger.warn(w);
  const taskQueue = taskQueueFor(config.clusterName);

  const runtime = installTemporalRuntime(logger, {
    verbosity: opts.verbosity ?? 0,
    metricsPort: opts.temporalMetricsPort,
  });
  if (!runtime.installed) logger.debug(runtime.reason);

  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const core = kc.makeApiClient(CoreV1Api);
  const cache = new ClusterCache(kc, log);
  const metrics = createMetrics();
  const options = plannerOptions(config, opts.flags);
  const observer = new Observer({
    metrics,
    cache,
    config,
    thresholds: options,
    maxNodesTotal: options.maxNodesTotal,
    core,
    statusNamespace: opts.statusNamespace,
    statusIntervalMs: opts.statusIntervalMs,
    log: logger,
  });

  // The HTTP server answers before the worker exists; it reads the worker through this holder.
  const started: { worker?: Worker } = {};
  const unreachableAfterMs = opts.unreachableAfterMs ?? UNREACHABLE_AFTER_MS;
  const probeOpts = opts.probeIntervalMs ? { intervalMs: opts.probeIntervalMs } : {};
  const versionApi = kc.makeApiClient(VersionApi);
  const probes: DependencyProbe[] = [new DependencyProbe('apiserver', () => versionApi.getCode(), probeOpts)];
  let http: Server | undefined;
  if (opts.healthPort) {
    http = await startHttpServer(opts.healthPort, metrics.registry, {
      healthz: () => {
        const state = started.worker?.getState() ?? 'STARTING';
        const deps = liveness(probes, unreachableAfterMs);
        const alive = state === 'RUNNING' || state === 'INITIALIZED' || state === 'STARTING';
        return { ok: alive && deps.ok, detail: { worker: state, dependencies: deps.probes } };
      },
      readyz: () => {
        const state = started.worker?.getState() ?? 'STARTING';
        const stale = cache.staleness();
        return {
          ok: state === 'RUNNING' && stale === undefined,
          detail: { worker: state, cacheSynced: stale === undefined, ...(stale && { cache: stale }) },
        };
      },
    });
  }

  // Until the worker runs, a failure must not leave the server, the probes, the informers or connections behind.
  const cleanups: (() => unknown)[] = [];
  if (http) cleanups.push(() => http.close());
  const cleanUp = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  // The apiserver probe runs from the start: an apiserver that never answers fails /healthz even during start-up.
  probes[0]!.start();
  cleanups.push(() => Promise.all(probes.map((p) => p.stop())));
  try {
    // The worker starts either way; until the cache is complete, planning refuses and /readyz says why.
    const warm = await cache.start();
    cleanups.push(() => cache.stop());
    if (warm) logger.info({ nodes: cache.nodes().length, pods: cache.pods().length }, 'cluster cache warm');
    else logger.warn({ cache: cache.staleness() }, 'cluster cache not complete yet; planning waits for it');
    observer.start();
    cleanups.push(() => observer.stop());

    const annotations = new ReasonAnnotations(core, cache, log);
    const vms = createSlicerVmProvider(config);
    cleanups.push(() => vms.close());
    const planner = createPlanScaling({
      config,
      flags: opts.flags,
      cache,
      listHostGroups: (group, signal) => vms.client(group).listHostGroups({ signal }),
      log,
      afterPlan: (req, result, timings, full) => {
        observer.afterPlan(req, result, timings, full);
        // Every verdict, not the plan's capped list: each managed Node and pending Pod says why on itself.
        annotations.afterPlan(
          {
            nodes: Object.fromEntries(Object.entries(full.nodeVerdicts).map(([n, verdict]) => [n, { verdict }])),
            pods: full.podVerdicts,
          },
          Object.keys(full.podVerdicts),
        );
      },
    });

    const connectionOptions = { ...opts.temporalConnection, address: opts.temporalAddress };
    logger.info(
      {
        address: opts.temporalAddress,
        namespace: opts.namespace,
        tls: Boolean(opts.temporalConnection?.tls),
        apiKey: opts.temporalConnection?.apiKey ? 'set' : 'not set',
      },
      'connecting to Temporal',
    );
    const clientConnection = await Connection.connect(connectionOptions);
    cleanups.push(() => clientConnection.close());
    await checkSearchAttributes(clientConnection, opts.namespace);
    const temporalProbe = new DependencyProbe(
      'temporal',
      () => clientConnection.withDeadline(Date.now() + 5000, () => clientConnection.workflowService.getSystemInfo({})),
      probeOpts,
    );
    probes.push(temporalProbe);
    temporalProbe.start();
    const client = new Client({ connection: clientConnection, namespace: opts.namespace });
    const evaluatorId = autoscalerWorkflowId(config.clusterName);
    // A dry-run worker would refuse a real evaluator's operations, and a real worker would serve a dry-run evaluator
    // that never acts: refuse the mix rather than half-work.
    const running = await runningEvaluatorDryRun(client, evaluatorId);
    if (running !== undefined && running !== (opts.dryRun ?? false))
      throw new Error(
        `evaluator ${evaluatorId} runs ${running ? 'in dry-run' : 'for real'}, but this worker was started ${opts.dryRun ? 'with' : 'without'} --dry-run; ` +
          `stop it first (temporal workflow terminate -w ${evaluatorId}) or use another cluster-name`,
      );
    if (opts.dryRun)
      logger.warn('dry-run: this worker never creates or deletes VMs, and never cordons, drains or deletes Nodes');
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
    const connection = await NativeConnection.connect(connectionOptions);
    cleanups.push(() => connection.close());
    const bundlePath = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
    const sourceExt = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const worker = await Worker.create({
      connection,
      namespace: opts.namespace,
      // One queue per cluster: two clusters on one namespace never run each other's activities (kubeconfig, tokens).
      taskQueue,
      // Names the cluster, so a history shows which cluster's worker ran each task.
      identity: `slicer-autoscaler(${config.clusterName})@${hostname()}/${process.pid}`,
      ...(existsSync(bundlePath)
        ? { workflowBundle: { codePath: bundlePath } }
        : { workflowsPath: fileURLToPath(new URL(`./workflows/index.${sourceExt}`, import.meta.url)) }),
      interceptors: {
        activity: observer.activityInterceptors(),
        workflowModules: [fileURLToPath(new URL(`./metrics/workflow-interceptors.${sourceExt}`, import.meta.url))],
      },
      sinks: observer.sinks(),
      activities: {
        ...createActivities({
          vms: opts.dryRun ? dryRunVmProvider(vms) : vms,
          core: opts.dryRun ? dryRunCore(core) : core,
          cluster: config.clusterName,
          cache,
          plan: planner.planScaling,
          lastFullPlan: planner.lastFullPlan,
          managedGroups: new Set(config.groups.map((g) => g.name)),
          drainRules: options,
          reconcile: opts.dryRun
            ? dryRunReconcile((d) => createReconcileActivities({ config, ...d }), core, vms)
            : reconciler.reconcile,
        }),
        ...createSteerActivities(),
      },
      // Cancellation reaches an activity only with a heartbeat's answer: at most a second late, not 80% of the
      // heartbeat timeout (a continue-as-new must stop the old watch at once).
      maxHeartbeatThrottleInterval: '1 second',
      defaultHeartbeatThrottleInterval: '1 second',
      shutdownGraceTime: '20s',
    });
    // Waiting for VMs to join has its own queue (beside the cluster's) and slots: joining VMs never delay a plan.
    const joinWorker = await Worker.create({
      connection,
      namespace: opts.namespace,
      taskQueue: joinsTaskQueue(taskQueue),
      identity: `slicer-autoscaler(${config.clusterName})@${hostname()}/${process.pid}`,
      activities: createJoinActivities({ core, cache }),
      maxConcurrentActivityTaskExecutions: MAX_JOINS_WAITING,
      maxHeartbeatThrottleInterval: '1 second',
      defaultHeartbeatThrottleInterval: '1 second',
      shutdownGraceTime: '5s',
    });

    await ensureEvaluator(client, evaluatorId, taskQueue, {
      cluster: config.clusterName,
      scanIntervalMs: opts.flags.scanIntervalMs,
      reconcileIntervalMs: opts.reconcileIntervalMs ?? opts.flags.orphanSweepIntervalMs,
      ...(opts.dryRun && { dryRun: true }),
      backoffInitialMs: opts.flags.initialNodeGroupBackoffMs,
      backoffMaxMs: opts.flags.maxNodeGroupBackoffMs,
    });
    logger.info({ evaluator: evaluatorId, taskQueue }, 'evaluator running');

    started.worker = worker;
    const done = Promise.all([worker.run(), joinWorker.run()]).finally(async () => {
      await cleanUp();
      logger.flush();
    });
    return {
      config,
      worker,
      taskQueue,
      ...(opts.healthPort && { healthPort: opts.healthPort }),
      done,
      shutdown: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        if (joinWorker.getState() === 'RUNNING') joinWorker.shutdown();
        await done;
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

/**
 * Starts the evaluator on this cluster's task queue, or finds it running. One that runs on another task queue (a
 * release before per-cluster queues) would never be served here: say so and how to move it, rather than wait.
 */
async function ensureEvaluator(
  client: Client,
  evaluatorId: string,
  taskQueue: string,
  input: {
    cluster: string;
    scanIntervalMs: number;
    reconcileIntervalMs: number;
    backoffInitialMs: number;
    backoffMaxMs: number;
    dryRun?: boolean;
  },
): Promise<void> {
  try {
    await client.workflow.start('autoscalerWorkflow', {
      taskQueue,
      workflowId: evaluatorId,
      args: [{ ...input, ...(input.dryRun && { dryRun: true }) }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `slicer-autoscaler evaluator for ${input.cluster}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const running = await client.workflow.getHandle(evaluatorId).describe();
  if (running.status.name === 'RUNNING' && running.taskQueue !== taskQueue) {
    throw new Error(
      [
        `the evaluator ${evaluatorId} runs on task queue '${running.taskQueue}', not this cluster's '${taskQueue}'`,
        `(an older release, whose workers shared one queue, started it). To move it, with the old workers still running:`,
        `  slicer-autoscaler pause --cluster ${input.cluster} --reason upgrade`,
        `  temporal workflow list --query "ExecutionStatus='Running' AND AutoscalerCluster='${input.cluster}'"` +
          `   (until it lists only the evaluator)`,
        `  temporal workflow terminate -w ${evaluatorId}`,
        `then start this worker again: it starts a new evaluator on '${taskQueue}', which rebuilds its books.`,
      ].join('\n'),
    );
  }
}
