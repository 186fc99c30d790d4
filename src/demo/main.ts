// `npm run demo [-- --scenario NAME]`: the whole product on this machine with embedded defaults. A local Temporal dev
// server, a local Kubernetes control plane with KWOK, simulated Slicer hosts and a slicer-autoscaler worker play one
// scenario; on a terminal the live view (`slicer-autoscaler top`) shows it as it plays, otherwise plain lines do.
// Every scenario ends with one verdict line computed from the real state; the exit code is 0 only when it is OK.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createElement as h } from 'react';
import type { Instance } from 'ink';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { fetchTopData } from '../cli/view/source.js';
import { loadLiveView } from '../cli/view/terminal.js';
import { stackStatus, startStack, stopStack, type StackInfo } from '../stack/stack.js';
import { setUp, type Harness } from './harness.js';
import { SCENARIOS } from './scenarios/index.js';
import { Story } from './story.js';
import { verdictLine } from './verdict.js';

function usage(): string {
  return [
    'usage: npm run demo -- [--scenario NAME] [--plain] [--keep] [--state-dir DIR] [--attach STACK_DIR]',
    '',
    ...Object.values(SCENARIOS).map((s) => `  ${s.name.padEnd(15)} ${s.summary}`),
    '',
    '--plain prints lines instead of the live view; --attach plays on a running stack (its state dir) and cleans up',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'tour' },
      plain: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: resolve('.stack', 'demo') },
      attach: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const scenario = SCENARIOS[values.scenario];
  if (values.help || !scenario) {
    console.error(values.help ? usage() : `unknown scenario '${values.scenario}'\n\n${usage()}`);
    return values.help ? 0 : 2;
  }
  const live = !values.plain && process.stdout.isTTY === true && process.stdin.isTTY === true;
  const shared = values.attach !== undefined;
  const stateDir = resolve(values.attach ?? values['state-dir']);
  let stack: StackInfo;
  if (shared) {
    const info = stackStatus(stateDir).info;
    if (!info) throw new Error(`--attach ${stateDir}: no running stack there (no stack.json)`);
    stack = info;
  }
  // Under the state dir, which starting a stack clears: created once the stack is up.
  const workDir = join(stateDir, 'demo');
  const logFile = join(workDir, `${scenario.name}.log`);
  const story = new Story(!live);
  // The worker's own warnings (an activity that failed on purpose in a scenario, say) go to the log file; errors
  // also to stderr. The verdict says whether the scenario worked.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      const line = `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level as LogLevel}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}`;
      story.record(line);
      if (entry.level === 'ERROR') console.error(line);
    }),
  });
  const say = story.say;
  const stop = new AbortController();
  let view: Instance | undefined;
  let harness: Harness | undefined;
  let ok: boolean;
  try {
    if (!shared) {
      say(`scenario ${scenario.name}: ${scenario.summary}`);
      say('starting the local stack (Temporal dev server + Kubernetes control plane + KWOK)...');
      stack = await startStack({ stateDir, ownerPid: process.pid, log: () => undefined });
      say(
        `stack up in ${(stack.startedInMs / 1000).toFixed(1)}s. Temporal UI: ${stack.temporalUiUrl}   kubeconfig: ${stack.kubeconfigPath}`,
      );
    } else say(`scenario ${scenario.name} on the stack in ${stateDir}: ${scenario.summary}`);
    mkdirSync(workDir, { recursive: true });
    story.logTo(logFile);
    harness = await setUp(scenario, stack!, { say, record: story.record, shared, signal: stop.signal, workDir });
    const { ctx } = harness;
    const hosts = scenario.groups.map((g) => `${ctx.g(g.name)} (${g.cpus} vCPU, ${g.ramGiB} GiB, ${g.arch})`);
    say(`simulated Slicer hosts: ${hosts.join(', ')}; evaluator autoscaler/${ctx.cluster}`);
    if (live) {
      const uiUrl = stack!.temporalUiUrl;
      const load = () => fetchTopData(ctx.client, { cluster: ctx.cluster, namespace: 'default', uiUrl });
      const { render, LiveView } = await loadLiveView();
      view = render(
        h(LiveView, { load, intervalMs: 1000, feed: story, feedRows: 6, hint: 'q stops the demo and tears it down' }),
        { exitOnCtrlC: true, patchConsole: true },
      );
      void view.waitUntilExit().then(() => stop.abort());
    }
    let outcome;
    try {
      outcome = await scenario.play(ctx);
    } catch (err) {
      outcome = { ok: false, what: `did not finish: ${(err as Error).message}` };
    }
    const state = await harness.finalState();
    const verdict = verdictLine(scenario.name, outcome, state);
    ok = verdict.ok;
    view?.unmount();
    view = undefined;
    say(verdict.line);
    if (live) console.log(verdict.line);
    if (values.keep && !shared) {
      say(
        `--keep: steer it with \`npm run cli -- top --cluster ${ctx.cluster} --address ${stack!.temporalAddress}\`; Ctrl-C stops`,
      );
      await new Promise<void>((r) => process.once('SIGINT', r));
    }
  } finally {
    view?.unmount();
    await harness?.tearDown();
    if (!shared) await stopStack(stateDir);
    say(`torn down; the story${story.recorded ? ` and ${story.recorded} worker warning(s)` : ''} in ${logFile}`);
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[demo] failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
