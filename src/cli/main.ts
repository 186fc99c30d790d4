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
import { OPERATOR_VERBS, operatorTarget, runOperatorCommand, UsageError, type OperatorVerb } from './operator.js';

const USAGE = `usage: slicer-autoscaler <command>

  worker --cloud-config FILE [cluster-autoscaler flags] [--kubeconfig K] [--health-port N] [--status-namespace NS]
         [--dry-run]
        run a worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE from the environment); --dry-run plans and records
        what it would do, and never creates or deletes a VM or cordons, drains or deletes a Node
  config check FILE [cluster-autoscaler flags]
        print the effective config with tokens redacted (exit 0), or every problem (exit 1)
  simulate-slicer --port N --token-file F --hostgroup NAME:CPUS:RAM_GIB[:ARCH] [--hostgroup ...]
                  [--kubeconfig K] [--join-delay D] [--host-ram-gib N]
        serve a simulated Slicer REST API on 127.0.0.1
  status | plan | explain POD|NODE | pause [--group G] --reason R [--for S] | resume [--group G]
  scale GROUP SIZE | drain NODE | hold NODE --reason R [--for S] | release NODE
        steer the evaluator (--address, --namespace, --cluster or TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        SLICER_AUTOSCALER_CLUSTER)
  top [--ui URL] [--interval 2s] [--once]
        live view of groups, operations, pending pods and decisions (one plain frame when not on a terminal)
  schedule add --cron "0 20 * * 1-5" (--pause 12h [--group G] | --scale G=0 --for 12h) [--timezone TZ] [--id NAME]
  schedule list | schedule remove ID
        Temporal Schedules that pause the autoscaler or pin a group's size for a window
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

async function worker(argv: string[]): Promise<number> {
  // --dry-run is our own switch (cluster-autoscaler has none), the one flag without a value.
  const dryRun = argv.includes('--dry-run');
  const { options, other } = parseFlags(
    argv.filter((a) => a !== '--dry-run'),
    ['--kubeconfig', '--health-port', '--status-namespace'],
  );
  if (!options.cloudConfig) throw new UsageError('worker needs --cloud-config FILE');
  const { startWorker } = await import('../worker.js');
  const running = await startWorker({
    configPath: options.cloudConfig,
    flags: options,
    temporalAddress: process.env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233',
    namespace: process.env['TEMPORAL_NAMESPACE'] ?? 'default',
    kubeconfig: other['--kubeconfig'],
    healthPort: Number(other['--health-port'] ?? 8080),
    statusNamespace: other['--status-namespace'] ?? 'kube-system',
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
    console.error(err);
    process.exitCode = 1;
  },
);
