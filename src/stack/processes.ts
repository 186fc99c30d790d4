import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** One component of the stack, started in its own process group so that stopping it also stops its children. */
export interface ComponentProcess {
  name: string;
  pid: number;
  logFile: string;
}

/** The pids file lets `stack down`, the guardian and the next run find processes a crashed run left behind. */
export function pidsFile(stateDir: string): string {
  return join(stateDir, 'pids.json');
}

export function readPids(stateDir: string): ComponentProcess[] {
  const file = pidsFile(stateDir);
  if (!existsSync(file)) return [];
  return JSON.parse(readFileSync(file, 'utf8')) as ComponentProcess[];
}

function writePids(stateDir: string, processes: ComponentProcess[]): void {
  writeFileSync(pidsFile(stateDir), JSON.stringify(processes, null, 2));
}

/** Starts `binary args` detached, with stdout and stderr appended to `<stateDir>/logs/<name>.log`. */
export function startComponent(stateDir: string, name: string, binary: string, args: string[]): ComponentProcess {
  const logFile = join(stateDir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], cwd: stateDir });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${binary})`);
  child.unref();
  const proc = { name, pid: child.pid, logFile };
  writePids(stateDir, [...readPids(stateDir), proc]);
  return proc;
}

/** True while a process with this pid exists (zombies count as gone once reaped by init). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM each component's process group in reverse start order, then SIGKILL what is left after the grace time. */
export async function stopComponents(stateDir: string, graceMs = 10_000): Promise<void> {
  const procs = readPids(stateDir).reverse();
  for (const p of procs) {
    signalGroup(p.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(p.pid) && Date.now() < deadline) await delay(100);
    if (isAlive(p.pid)) signalGroup(p.pid, 'SIGKILL');
  }
  writePids(stateDir, []);
}

/** The last lines of a component's log, for error messages that say why it did not come up. */
export function logTail(logFile: string, lines = 25): string {
  if (!existsSync(logFile)) return '(no log)';
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Starts a small shell process that outlives us and tears the stack down once `ownerPid` is gone, so an
 * interrupted or killed test run leaves no etcd or apiserver behind.
 */
export function startGuardian(stateDir: string, ownerPid: number, guardianScript: string): number {
  const fd = openSync(join(stateDir, 'logs', 'guardian.log'), 'a');
  const child = spawn('bash', [guardianScript, String(ownerPid), stateDir], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  return child.pid ?? -1;
}

/** Polls `check` until it returns true; on timeout the error carries `describe()` (usually a log tail). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; describe?: () => string; alive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (opts.alive && !opts.alive()) {
      throw new Error(`${what}: the process exited.\n${opts.describe?.() ?? ''}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await delay(opts.intervalMs ?? 250);
  }
  throw new Error(
    `${what}: not ready after ${opts.timeoutMs} ms${lastError ? ` (${lastError})` : ''}.\n${opts.describe?.() ?? ''}`,
  );
}
