import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { MachineSampler } from './machine.js';

/** The project root, where `dist/` is built. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WorkerProcessOptions {
  configPath: string;
  kubeconfigPath: string;
  temporalAddress: string;
  /** cluster-autoscaler flags, e.g. `--scan-interval=10s`. */
  flags: string[];
  /** Extra `node` options (V8 heap flags, `--cpu-prof`), from `--worker-node-options`. */
  nodeOptions: string[];
  logFile: string;
  /** Extra environment variables (e.g. MALLOC_ARENA_MAX), from `--worker-env`. */
  env?: Record<string, string>;
  /** Working directory of the worker (where `--cpu-prof` and heap snapshots land). */
  cwd?: string;
}

/**
 * The worker as users run it: the built `dist/cli/main.js worker` with the prebuilt workflow bundle, in its own
 * process so its memory is its own. Its output goes to a log file; its RSS is sampled from /proc every 200 ms.
 */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly sampler: MachineSampler;
  private readonly exited: Promise<number | null>;
  private log = '';
  private readonly cwd: string;

  constructor(opts: WorkerProcessOptions) {
    const out = createWriteStream(opts.logFile);
    this.cwd = opts.cwd ?? dirname(opts.logFile);
    this.child = spawn(
      process.execPath,
      [
        ...opts.nodeOptions,
        join(ROOT, 'dist', 'cli', 'main.js'),
        'worker',
        '--cloud-config',
        opts.configPath,
        '--kubeconfig',
        opts.kubeconfigPath,
        // No /metrics server: the worker's default port (8080) may be taken, and the bench reads RSS from /proc.
        '--health-port=0',
        ...opts.flags,
      ],
      {
        cwd: this.cwd,
        env: {
          ...process.env,
          ...opts.env,
          TEMPORAL_ADDRESS: opts.temporalAddress,
          TEMPORAL_NAMESPACE: 'default',
          // Read by bench/e2e/probes/memory.mjs when `--memory-probe` loads it.
          BENCH_MEMORY_LOG: join(dirname(opts.logFile), `${basename(opts.logFile, '.log')}.memory.jsonl`),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => {
      out.write(chunk);
      // The last few KiB, to quote when the worker fails to start.
      this.log = (this.log + chunk.toString()).slice(-8192);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.exited.finally(() => out.end()).catch(() => undefined);
    this.sampler = new MachineSampler(this.child.pid!);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once the worker says it polls its cluster's queue; fails with the log's tail if it exits or takes too long. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`worker exited (${this.child.exitCode}):\n${this.log}`);
      // The structured log's line once the cluster queue's worker polls (the older text line is gone).
      if (/"taskQueue":"slicer-autoscaler\/[^"/]+","state":"RUNNING"/.test(this.log)) return;
      await delay(100);
    }
    throw new Error(`worker not ready after ${timeoutMs} ms:\n${this.log}`);
  }

  /**
   * Stops the worker: SIGTERM (it shuts down gracefully, which a `--cpu-prof` profile needs), SIGKILL after
   * `graceMs`; with 0, SIGKILL at once (a graceful shutdown waits up to 20 s for activities and proves nothing here).
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const killed = await Promise.race([this.exited.then(() => false), delay(graceMs).then(() => true)]);
    if (killed) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /**
   * Has the worker write a heap snapshot into its working directory (it runs with `--heapsnapshot-signal=SIGUSR2`
   * when `--heap-snapshot` is given) and resolves with the file once it stops growing.
   */
  async heapSnapshot(timeoutMs = 120_000): Promise<string> {
    const before = new Set(readdirSync(this.cwd));
    this.child.kill('SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
      await delay(1000);
      const file = readdirSync(this.cwd).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (!file) continue;
      const size = statSync(join(this.cwd, file)).size;
      if (size > 0 && size === last) return join(this.cwd, file);
      last = size;
    }
    throw new Error(`no heap snapshot after ${timeoutMs} ms`);
  }
}
