#!/usr/bin/env node
// slicer-autoscaler <command>: the worker, config check, the Slicer simulator, and operator commands.
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { FileRefusedError, readBoundedFile } from '../config/file.js';
import { FlagError, parseFlags } from '../config/flags.js';
import { ConfigError, DEFAULT_CLOUD_CONFIG_PATH, loadConfig } from '../config/load.js';
import { renderConfig } from '../config/render.js';
import { ClusterJoiner } from '../simulator/join.js';
import { parseHostGroupSpecs, startSimulator, type SimHostGroup } from '../simulator/server.js';
import { parseDuration } from '../config/duration.js';
import { z } from 'zod';
import { loadTemporalTarget } from '../temporal-connection.js';
import {
  checkOperatorArgs,
  executeOperatorRequest,
  OPERATOR_VERBS,
  operatorTarget,
  UsageError,
  type OperatorVerb,
} from './operator.js';

const USAGE = `usage: slicer-autoscaler <command>

  worker [--cloud-config FILE] [cluster-autoscaler flags] [--kubeconfig K] [--health-port N] [--namespace NS]
         [--temporal-metrics-port N] [--v N] [--dry-run]
        run a worker; the cloud-config defaults to ${DEFAULT_CLOUD_CONFIG_PATH}, where the cluster-autoscaler
        chart mounts it. /metrics, /healthz, /readyz on the health port (8080); Temporal SDK metrics on
        --temporal-metrics-port (default 0: off).
        Temporal from the temporal CLI's environment and profiles: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE
        --dry-run plans and records what it would do, and never creates or deletes a VM or cordons, drains or
        deletes a Node.
  config check FILE [cluster-autoscaler flags]
        print the effective config, flags applied, tokens redacted (exit 0), or every problem (exit 1)
  simulate-slicer --token-file F --hostgroup NAME:CPUS:RAM_GIB[:ARCH] [--hostgroup ...] [--port N]
                  [--kubeconfig K] [--join-delay D] [--host-ram-gib N] [--ignore-tag-filters]
        serve a simulated Slicer REST API on 127.0.0.1
  status | plan | explain POD|NODE | pause [--group G] --reason R [--for S] | resume [--group G]
  scale GROUP SIZE | drain NODE | hold NODE [--reason R] [--for S] | release NODE
        steer the evaluator (--address, --namespace, --cluster or TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        SLICER_AUTOSCALER_CLUSTER)
  top [--ui URL] [--interval 2s] [--once]
        live view of groups, operations, pending pods and decisions (one plain frame when not on a terminal)
  schedule add --cron "0 20 * * 1-5" (--pause 12h [--group G] | --scale G=0 --for 12h) [--timezone TZ] [--id NAME]
  schedule list | schedule remove ID
        Temporal Schedules that pause the autoscaler or pin a group's size for a window
`;

/** The most a simulator token file may hold. */
const TOKEN_FILE_MAX_BYTES = 4096;

async function configCheck(argv: string[]): Promise<number> {
  const { options, positionals, warnings } = parseFlags(argv);
  const file = positionals[0] ?? options.cloudConfig;
  if (!file) throw new UsageError('config check needs a FILE');
  if (positionals.length > 1) throw new UsageError('config check takes one FILE');
  for (const w of warnings) console.error(`warning: ${w}`);
  try {
    const config = loadConfig(file, options);
    process.stdout.write(renderConfig(config, options));
    for (const w of config.warnings) console.error(`warning: ${w}`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

/** Fails with a clear message when `port` cannot be listened on, as the worker's health server will try. */
async function checkPortFree(port: number, flag: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `${flag} ${port}: the port is already in use; pick another, or 0 for none`
            : `${flag} ${port}: cannot listen (${err.code ?? err.message})`,
        ),
      ),
    );
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

async function simulate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '0' },
      'token-file': { type: 'string' },
      hostgroup: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      'join-delay': { type: 'string', default: '2s' },
      'host-ram-gib': { type: 'string' },
      'ignore-tag-filters': { type: 'boolean', default: false },
    },
  });
  if (positionals.length) throw new UsageError(`simulate-slicer: unexpected argument '${positionals[0]}'`);
  if (!values['token-file'])
    throw new UsageError('simulate-slicer needs --token-file F (the bearer token clients must send)');
  if (!values.hostgroup?.length)
    throw new UsageError('simulate-slicer needs at least one --hostgroup NAME:CPUS:RAM_GIB[:ARCH]');
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535)
    throw new UsageError(`--port ${values.port}: expected a port number from 0 to 65535 (0 picks a free one)`);
  const joinDelayMs = parseDuration(values['join-delay']);
  if (joinDelayMs === undefined)
    throw new UsageError(`--join-delay ${values['join-delay']}: expected a duration like 2s`);
  const hostRamGib = values['host-ram-gib'] === undefined ? undefined : Number(values['host-ram-gib']);
  if (hostRamGib !== undefined && !(hostRamGib > 0))
    throw new UsageError(`--host-ram-gib ${values['host-ram-gib']}: expected a number of GiB above 0`);
  let hostGroups: SimHostGroup[];
  try {
    hostGroups = parseHostGroupSpecs(values.hostgroup);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let token: string;
  try {
    token = readBoundedFile(values['token-file'], TOKEN_FILE_MAX_BYTES, 'token file').toString('utf8').trim();
  } catch (err) {
    if (err instanceof FileRefusedError) throw new UsageError(`--token-file: ${err.message}`);
    throw err;
  }
  if (!token) throw new UsageError(`--token-file ${values['token-file']} is empty`);
  const sim = await startSimulator({
    port: Number(values.port),
    token,
    hostGroups,
    joiner: values.kubeconfig ? new ClusterJoiner(values.kubeconfig) : undefined,
    joinDelayMs,
    faults: { hostRamGib, ignoreTagFilters: values['ignore-tag-filters'] },
    log: (l) => console.log(`[slicer-sim] ${l}`),
  });
  console.log(
    `slicer simulator ready at ${sim.url} (host groups: ${values.hostgroup.join(', ')}${values.kubeconfig ? '; VMs join the cluster' : ''})`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.stop();
  return 0;
}

const port = (flag: string) =>
  z.coerce
    .number(`${flag}: expected a port number`)
    .int(`${flag}: expected a whole number`)
    .min(0, `${flag}: 0 (off) to 65535`)
    .max(65535, `${flag}: 0 (off) to 65535`);

function parsePort(flag: string, value: string | undefined, fallback: number): number {
  const r = port(flag).safeParse(value ?? fallback);
  if (!r.success) throw new UsageError(r.error.issues[0]?.message ?? `${flag}: invalid`);
  return r.data;
}

async function worker(argv: string[]): Promise<number> {
  // --dry-run is our own switch (cluster-autoscaler has none), the one flag without a value.
  const dryRun = argv.includes('--dry-run');
  const { options, positionals, warnings, other } = parseFlags(
    argv.filter((a) => a !== '--dry-run'),
    ['--temporal-metrics-port'],
  );
  if (positionals.length)
    throw new UsageError(`worker takes only flags; got ${positionals.length} other argument(s) (not shown)`);
  for (const w of warnings) console.error(`warning: ${w}`);
  const configPath = options.cloudConfig ?? DEFAULT_CLOUD_CONFIG_PATH;
  // Refuse a broken config or a busy port here, with a clear message, before anything connects.
  loadConfig(configPath, options);
  if (options.healthPort) await checkPortFree(options.healthPort, '--health-port');
  const temporalMetricsPort = parsePort('--temporal-metrics-port', other['--temporal-metrics-port'], 0);
  if (temporalMetricsPort) await checkPortFree(temporalMetricsPort, '--temporal-metrics-port');
  const temporal = loadTemporalTarget();
  const { startWorker } = await import('../worker.js');
  const running = await startWorker({
    configPath,
    flags: options,
    temporalAddress: temporal.connection.address,
    namespace: temporal.namespace,
    temporalConnection: temporal.connection,
    kubeconfig: options.kubeconfig,
    healthPort: options.healthPort,
    temporalMetricsPort,
    statusNamespace: options.statusNamespace,
    verbosity: options.verbosity,
    dryRun,
  });
  await running.done;
  return 0;
}

async function operator(verb: OperatorVerb, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      address: { type: 'string' },
      namespace: { type: 'string' },
      cluster: { type: 'string' },
      group: { type: 'string' },
      reason: { type: 'string' },
      for: { type: 'string' },
    },
  });
  const forMs = values.for ? parseDuration(/^\d+$/.test(values.for) ? `${values.for}s` : values.for) : undefined;
  if (values.for !== undefined && forMs === undefined)
    throw new UsageError(`--for ${values.for}: expected seconds or a duration like 30m`);
  // Every argument is checked before the connection, so a typo never waits on (or blames) Temporal.
  const request = checkOperatorArgs(verb, {
    positionals,
    reason: values.reason,
    group: values.group,
    forSeconds: forMs === undefined ? undefined : Math.ceil(forMs / 1000),
  });
  for (const flag of ['address', 'namespace', 'cluster'] as const)
    if (values[flag] !== undefined && values[flag].trim() === '') throw new UsageError(`--${flag} is empty`);
  return executeOperatorRequest(
    request,
    operatorTarget({ address: values.address, namespace: values.namespace, cluster: values.cluster }),
  );
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'config' && rest[0] === 'check') return await configCheck(rest.slice(1));
    if (command === 'simulate-slicer') return await simulate(rest);
    if (command === 'worker') return await worker(rest);
    // Loaded on demand: ink and react are only needed by `top`.
    if (command === 'top') return await (await import('./top.js')).runTop(rest);
    if (command === 'schedule') return await (await import('./schedule.js')).runScheduleCommand(rest);
    if ((OPERATOR_VERBS as readonly string[]).includes(command ?? ''))
      return await operator(command as OperatorVerb, rest);
    console.error(USAGE);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof FlagError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`error: ${(err as Error).message ?? String(err)}`);
    process.exitCode = 1;
  },
);
