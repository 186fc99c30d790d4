import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { pidsFile } from '../../../src/stack/processes.js';

// A worker as its own process, started the way users start it (`slicer-autoscaler worker ...`), so a test can
// SIGKILL it mid-operation. Each is recorded in the stack's pids file, so the stack's guardian stops it even if
// the test runner itself dies.

const projectRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface WorkerProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  /** Resolves when the worker says its evaluator runs (it has connected, warmed its cache and registered). */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function recordPid(entry: { name: string; pid: number; logFile: string } | { remove: number }): void {
  const file = pidsFile(inject('stackDir'));
  const list = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }[]) : [];
  const next = 'remove' in entry ? list.filter((p) => p.pid !== entry.remove) : [...list, entry];
  writeFileSync(file, JSON.stringify(next, null, 2));
}

/** Starts `slicer-autoscaler worker` with `args`; TEMPORAL_ADDRESS from `temporalAddress` or the stack's. */
export function spawnWorker(
  name: string,
  args: string[],
  opts: { logDir: string; temporalAddress?: string },
): WorkerProcess {
  const logFile = join(opts.logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--health-port=0', ...args], {
    cwd: projectRoot,
    // Its own process group, so a kill reaches anything it started.
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, TEMPORAL_ADDRESS: opts.temporalAddress ?? inject('temporalAddress') },
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start worker ${name}`);
  const pid = child.pid;
  recordPid({ name: `worker-${name}`, pid, logFile });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      recordPid({ remove: pid });
      resolve(signal ?? String(code));
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    name,
    pid,
    logFile,
    exited,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (gone) throw new Error(`worker ${name} exited before it was ready:\n${tail(logFile)}`);
        // The cluster's own queue polling (not only the joins queue): the worker takes tasks from now on.
        if (/"taskQueue":"slicer-autoscaler\/[^"/]+","state":"RUNNING"/.test(readFileSync(logFile, 'utf8'))) return;
        await delay(200);
      }
      throw new Error(`worker ${name} not ready after ${timeoutMs} ms:\n${tail(logFile)}`);
    },
    async kill(signal = 'SIGKILL') {
      if (gone) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** The last lines of a log file. */
export function tail(file: string, lines = 20): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
}
