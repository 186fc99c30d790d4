// `npm run record-histories`: records this release's workflow histories for the replay test. It starts the local
// stack (its own, in a temporary directory; the npm script holds /tmp/slicer-stack.lock), runs the whole product
// through the scenario in record-histories-scenario.ts, and writes each kept history as `temporal workflow show
// -o json` prints it to test/fixtures/histories/<package version>/, with a manifest. Nothing is written unless every
// scenario ended as named and no history holds either token the run used. docs/upgrade.md says when to run it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';
import { parseFlags } from '../src/config/flags.js';
import { autoscalerWorkflowId, taskQueueFor } from '../src/shared/ids.js';
import { ClusterJoiner } from '../src/simulator/join.js';
import { startSimulator } from '../src/simulator/server.js';
import { startStack, stopStack } from '../src/stack/stack.js';
import { loadToolPaths } from '../src/stack/tools.js';
import { startWorker } from '../src/worker.js';
import {
  HISTORIES_DIR,
  SCENARIOS,
  decodedPayloads,
  type Manifest,
  type RecordedHistory,
  type ScenarioName,
} from '../test/fixtures/histories/fixtures.js';
import { checkOutcomes, playScenario, until } from './record-histories-scenario.js';

const exec = promisify(execFile);
const GIB = 1024 ** 3;
const CLUSTER = 'rec';
/**
 * The fresh evaluator continues as new after this many events (production: 10,000 or the server's suggestion). Above
 * what the scenario uses (about 360 here; the run fails if it continues early), so the first run holds every step;
 * clusterChanged signals then push it over. Small, so the fixture stays small.
 */
const MAX_HISTORY_EVENTS = 600;
const t0 = Date.now();
const say = (line: string) => console.log(`[record ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const root = resolve(import.meta.dirname, '..');
  const release = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const tools = loadToolPaths();
  // Before anything is written, so `-dirty` means the code recorded differs from the commit, not the new files.
  const commit = (await exec('git', ['describe', '--always', '--dirty'], { cwd: root })).stdout.trim();
  say(`recording histories of release ${release}; starting the local stack`);
  const stack = await startStack({ ownerPid: process.pid });
  // Tokens in the k3s and Slicer shapes, random per run: no history may contain either (checked before writing).
  const k3sToken = `K10${randomBytes(24).toString('hex')}::server:${randomBytes(16).toString('hex')}`;
  const slicerToken = randomBytes(32).toString('hex');
  const joiner = new ClusterJoiner(stack.kubeconfigPath);
  const group = (name: string) => ({ name, cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' });
  const joining = await startSimulator({ token: slicerToken, hostGroups: [group(`${CLUSTER}-x86`)], joiner });
  const neverJoining = await startSimulator({
    token: slicerToken,
    hostGroups: [group(`${CLUSTER}-nojoin`)],
    joiner,
    faults: { neverJoin: 'all' },
  });
  const configPath = join(stack.stateDir, 'cloud-config.ini');
  writeFileSync(
    configPath,
    [
      '[global]',
      'k3s-url = https://127.0.0.1:6443',
      `k3s-token = ${k3sToken}`,
      `cluster-name = ${CLUSTER}`,
      'default-min-size = 0',
      'default-max-size = 3',
      'node-provision-timeout = 10s',
      'scale-down-unneeded-time = 3s',
      'drain-timeout = 8s',
      `[nodegroup "${CLUSTER}-x86"]`,
      `slicer-url = ${joining.url}`,
      `slicer-token = ${slicerToken}`,
      `[nodegroup "${CLUSTER}-nojoin"]`,
      `slicer-url = ${neverJoining.url}`,
      `slicer-token = ${slicerToken}`,
      'max-size = 1',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const { options } = parseFlags([
    '--scan-interval=5s',
    '--orphan-sweep-interval=20s',
    '--scale-down-delay-after-add=0s',
    '--scale-down-delay-after-failure=0s',
  ]);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  const evaluatorId = autoscalerWorkflowId(CLUSTER);
  // The evaluator the worker would start, plus a history limit the scenario can reach; the worker finds it running.
  await client.workflow.start('autoscalerWorkflow', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: evaluatorId,
    args: [
      {
        cluster: CLUSTER,
        scanIntervalMs: options.scanIntervalMs,
        reconcileIntervalMs: options.orphanSweepIntervalMs,
        backoffInitialMs: options.initialNodeGroupBackoffMs,
        backoffMaxMs: options.maxNodeGroupBackoffMs,
        maxHistoryEvents: MAX_HISTORY_EVENTS,
      },
    ],
  });
  const worker = await startWorker({
    configPath,
    flags: options,
    temporalAddress: stack.temporalAddress,
    namespace: 'default',
    kubeconfig: stack.kubeconfigPath,
    log: () => undefined,
  });
  const kc = new KubeConfig();
  kc.loadFromFile(stack.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const ns = 'recording';
  const evaluator = client.workflow.getHandle(evaluatorId);
  try {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await until('the default ServiceAccount', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: ns }),
    );
    const kept = await playScenario({
      client,
      core,
      policy: kc.makeApiClient(PolicyV1Api),
      evaluator,
      joining: `${CLUSTER}-x86`,
      neverJoining: `${CLUSTER}-nojoin`,
      ns,
      say,
    });
    await evaluator.terminate('recording over');
    await checkOutcomes(client, kept);

    // The CLI reads TEMPORAL_* variables and profiles too; only the flags given here may point it anywhere.
    const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
    const histories = {} as Record<ScenarioName, { text: string; recorded: RecordedHistory }>;
    for (const name of Object.keys(SCENARIOS) as ScenarioName[]) {
      const { workflowId, runId } = kept[name];
      // The CLI's own JSON, exactly what an operator saves from production for the replay test.
      const { stdout } = await exec(
        tools.temporal,
        ['workflow', 'show', '-w', workflowId, '-r', runId, '-o', 'json', '--address', stack.temporalAddress],
        { maxBuffer: 64 * 1024 * 1024, env: cliEnv },
      );
      const events = (JSON.parse(stdout) as { events: unknown[] }).events.length;
      const text = decodedPayloads(stdout);
      for (const [what, token] of [
        ['k3s token', k3sToken],
        ['Slicer token', slicerToken],
      ] as const)
        if (stdout.includes(token) || text.includes(token)) throw new Error(`${name}: history holds the ${what}`);
      histories[name] = {
        text: stdout,
        recorded: { file: `${name}.json`, workflowType: SCENARIOS[name].workflowType, workflowId, runId, events },
      };
    }

    const dir = join(HISTORIES_DIR, release);
    mkdirSync(dir, { recursive: true });
    // A re-recording replaces the release's recorded files; histories added by hand stay.
    for (const f of readdirSync(dir))
      if (f === 'manifest.json' || f.replace(/\.json$/, '') in SCENARIOS) rmSync(join(dir, f));
    for (const { text, recorded } of Object.values(histories)) writeFileSync(join(dir, recorded.file), text);
    const manifest: Manifest = {
      release,
      recordedAt: new Date().toISOString(),
      commit,
      temporal: (await exec(tools.temporal, ['--version'])).stdout.trim(),
      histories: Object.fromEntries(
        Object.entries(histories).map(([k, v]) => [k, v.recorded]),
      ) as Manifest['histories'],
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    for (const { recorded } of Object.values(histories))
      say(`wrote ${recorded.file}: ${recorded.events} events (${recorded.workflowId})`);
  } finally {
    await evaluator.terminate('recording over').catch(() => undefined);
    await worker.shutdown().catch(() => undefined);
    await connection.close();
    await joining.stop();
    await neverJoining.stop();
    await stopStack(stack.stateDir);
    say('stack stopped');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[record] failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
