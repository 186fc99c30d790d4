#!/usr/bin/env node
// slicer-autoscaler <command>: the worker, config check, the Slicer simulator, and operator commands.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FlagError, parseFlags } from '../config/flags.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { renderConfig } from '../config/render.js';
import { ClusterJoiner } from '../simulator/join.js';
import { parseHostGroupSpec, startSimulator } from '../simulator/server.js';
import { parseDuration } from '../config/duration.js';
import { verbosityOf } from '../logging.js';
import { loadTemporalTarget } from '../temporal-connection.js';
import { z } from 'zod';
import { OPERATOR_VERBS, operatorTarget, runOperatorCommand, UsageError, type OperatorVerb } from './operator.js';

const USAGE = `usage: slicer-autoscaler <command>

  worker --cloud-config FILE [cluster-autoscaler flags] [--kubeconfig K] [--health-port N] [--status-namespace NS]
         [--temporal-metrics-port N] [--v N]
        run a worker; /metrics, /healthz, /readyz on the health port (8080), Temporal SDK metrics on 8081.
        Temporal from the temporal CLI's environment and profiles: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE
  config check FILE [cluster-autoscaler flags]
        print the effective config with tokens redacted (exit 0), or every problem (exit 1)
  simulate-slicer --port N --token-file F --hostgroup NAME:CPUS:RAM_GIB[:ARCH] [--hostgroup ...]
                  [--kubeconfig K] [--join-delay D] [--host-ram-gib N]
        serve a simulated Slicer REST API on 127.0.0.1
  status | plan | explain POD|NODE | pause [--group G] --reason R [--for S] | resume [--group G]
  scale GROUP SIZE | drain NODE | hold NODE --reason R [--for S] | release NODE
        steer the evaluator (--address, --namespace, --cluster or TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        SLICER_AUTOSCALER_CLUSTER)
`;

async function configCheck(argv: string[]): Promise<number> {
  const { positionals } = parseFlags(argv);
  const file = positionals[0];
  if (!file) throw new UsageError('config check needs a FILE');
  try {
    const config = loadConfig(file);
    process.stdout.write(renderConfig(config));
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

async function simulate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'token-file': { type: 'string' },
      hostgroup: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      'join-delay': { type: 'string', default: '2s' },
      'host-ram-gib': { type: 'string' },
    },
  });
  if (!values['token-file'])
    throw new UsageError('simulate-slicer needs --token-file F (the bearer token clients must send)');
  if (!values.hostgroup?.length)
    throw new UsageError('simulate-slicer needs at least one --hostgroup NAME:CPUS:RAM_GIB[:ARCH]');
  const joinDelayMs = parseDuration(values['join-delay']);
  if (joinDelayMs === undefined)
    throw new UsageError(`--join-delay ${values['join-delay']}: expected a duration like 2s`);
  const token = readFileSync(values['token-file'], 'utf8').trim();
  if (!token) throw new UsageError(`--token-file ${values['token-file']} is empty`);
  const sim = await startSimulator({
    port: values.port ? Number(values.port) : 0,
    token,
    hostGroups: values.hostgroup.map(parseHostGroupSpec),
    joiner: values.kubeconfig ? new ClusterJoiner(values.kubeconfig) : undefined,
    joinDelayMs,
    faults: values['host-ram-gib'] ? { hostRamGib: Number(values['host-ram-gib']) } : {},
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
  const { options, other } = parseFlags(argv, [
    '--kubeconfig',
    '--health-port',
    '--status-namespace',
    '--temporal-metrics-port',
    '--v',
  ]);
  if (!options.cloudConfig) throw new UsageError('worker needs --cloud-config FILE');
  const temporal = loadTemporalTarget();
  const { startWorker } = await import('../worker.js');
  const running = await startWorker({
    configPath: options.cloudConfig,
    flags: options,
    temporalAddress: temporal.connection.address,
    namespace: temporal.namespace,
    temporalConnection: temporal.connection,
    kubeconfig: other['--kubeconfig'],
    healthPort: parsePort('--health-port', other['--health-port'], 8080),
    temporalMetricsPort: parsePort('--temporal-metrics-port', other['--temporal-metrics-port'], 8081),
    statusNamespace: other['--status-namespace'] ?? 'kube-system',
    verbosity: verbosityOf(options, other),
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
  if (values.for && forMs === undefined)
    throw new UsageError(`--for ${values.for}: expected seconds or a duration like 30m`);
  return runOperatorCommand(
    verb,
    {
      positionals,
      reason: values.reason,
      group: values.group,
      forSeconds: forMs === undefined ? undefined : Math.ceil(forMs / 1000),
    },
    operatorTarget({ address: values.address, namespace: values.namespace, cluster: values.cluster }),
  );
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'config' && rest[0] === 'check') return await configCheck(rest.slice(1));
    if (command === 'simulate-slicer') return await simulate(rest);
    if (command === 'worker') return await worker(rest);
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
    console.error(err);
    process.exitCode = 1;
  },
);
