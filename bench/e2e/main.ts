// `npm run bench e2e [-- --scenario NAME ...] [--quick] [--no-build] [--worker-node-options "..."]`: the whole product
// on the local stack, one fresh stack per scenario, the worker in its own process. Results are merged into
// bench/results/<date>.json (a scenario run again replaces its earlier result of that day) and printed as a table.
// Nothing here asserts: the numbers are for reading, with each target of issue 9 marked met or not.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ScenarioResult } from './result.js';
import type { Scenario, ScenarioContext } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';
import { ROOT } from './worker-process.js';
import { imageRuntime } from './image-runtime.js';
import { formatTable } from './table.js';

/** Every stack on this machine is started under this lock (see /work/wt/RULES.md). */
const STACK_LOCK = '/tmp/slicer-stack.lock';
const LOCK_HELD_ENV = 'SLICER_BENCH_STACK_LOCK_HELD';

export interface ResultsFile {
  date: string;
  machine: { cpus: number; model: string; node: string; memGiB: number };
  commit: string;
  scenarios: ScenarioResult[];
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

export async function runE2e(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true },
      list: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'worker-node-options': { type: 'string', default: '' },
      'worker-env': { type: 'string', multiple: true },
      'bare-worker': { type: 'boolean', default: false },
      'memory-probe': { type: 'boolean', default: false },
      'heap-snapshot': { type: 'boolean', default: false },
      out: { type: 'string', default: join(ROOT, 'bench', 'results') },
    },
  });
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(14)} ${s.description}`);
    return 0;
  }
  const chosen: Scenario[] = [];
  for (const name of values.scenario ?? SCENARIOS.map((s) => s.name)) {
    const s = SCENARIOS.find((x) => x.name === name);
    if (!s) {
      console.error(`no scenario '${name}'; there are: ${SCENARIOS.map((x) => x.name).join(', ')}`);
      return 2;
    }
    chosen.push(s);
  }

  // One real stack at a time on this machine: take the shared lock by running ourselves again under flock.
  if (process.env[LOCK_HELD_ENV] !== '1') {
    console.log(`[bench] waiting for ${STACK_LOCK}...`);
    const r = spawnSync('flock', [STACK_LOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [LOCK_HELD_ENV]: '1' },
    });
    if (r.error) throw new Error(`cannot run flock (util-linux): ${r.error.message}`);
    return r.status ?? 1;
  }

  if (!values['no-build']) {
    // The worker runs as users run it: compiled, with the prebuilt workflow bundle.
    console.log('[bench] building dist/ and the workflow bundle...');
    run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
    run(process.execPath, [join(ROOT, 'dist', 'build', 'bundle-workflows.js')]);
  } else if (!existsSync(join(ROOT, 'dist', 'workflow-bundle.js'))) {
    console.error('--no-build, but dist/ has no workflow bundle: run without --no-build once');
    return 2;
  }

  const logs = mkdtempSync(join(tmpdir(), 'slicer-bench-'));
  // The image's runtime options and environment first (as users run the worker), unless --bare-worker.
  const image = values['bare-worker'] ? { nodeOptions: [], env: {} } : imageRuntime(ROOT);
  const nodeOptions = [...image.nodeOptions, ...values['worker-node-options'].split(' ').filter(Boolean)];
  // The probe logs the worker's heap and RSS split to memory.jsonl beside its log, every 2 s.
  if (values['memory-probe']) nodeOptions.push('--import', join(ROOT, 'bench', 'e2e', 'probes', 'memory.mjs'));
  if (values['heap-snapshot']) nodeOptions.push('--heapsnapshot-signal=SIGUSR2');
  const workerEnv: Record<string, string> = { ...image.env };
  for (const kv of values['worker-env'] ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 1) {
      console.error(`--worker-env ${kv}: expected NAME=VALUE`);
      return 2;
    }
    workerEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  console.log(
    `[bench] logs in ${logs}${nodeOptions.length ? `; worker node options: ${nodeOptions.join(' ')}` : ''}` +
      `${
        Object.keys(workerEnv).length
          ? `; worker env: ${Object.entries(workerEnv)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`
          : ''
      }`,
  );
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const dir = join(logs, scenario.name);
    mkdirSync(dir, { recursive: true });
    const t0 = Date.now();
    const ctx: ScenarioContext = {
      dir,
      nodeOptions,
      workerEnv,
      heapSnapshot: values['heap-snapshot'],
      quick: values.quick,
      log: (line) => console.log(`[${scenario.name} ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`),
    };
    ctx.log(scenario.description);
    const result = await scenario.run(ctx);
    results.push(result);
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2));
    ctx.log(`done in ${result.durationSec} s: ${result.figure.name} = ${result.figure.value} ${result.figure.unit}`);
  }

  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(values.out, { recursive: true });
  // A --quick smoke run never mixes with real results.
  const file = join(values.out, `${date}${values.quick ? '-quick' : ''}.json`);
  const earlier: ResultsFile | undefined = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const merged: ResultsFile = {
    date,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? '?',
      node: process.version,
      memGiB: Math.round(totalmem() / 1024 ** 3),
    },
    commit,
    scenarios: [...(earlier?.scenarios ?? []).filter((s) => !results.some((r) => r.name === s.name)), ...results].sort(
      (a, b) => SCENARIOS.findIndex((s) => s.name === a.name) - SCENARIOS.findIndex((s) => s.name === b.name),
    ),
  };
  writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
  console.log(`\n${formatTable(merged.scenarios)}\n\nresults: ${file}`);
  const missed = results.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.name}: ${t.name}`));
  if (missed.length) console.log(`targets NOT met:\n  ${missed.join('\n  ')}`);
  return results.some((r) => r.error) ? 1 : 0;
}
