import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKubernetes } from './kubernetes.js';
import { isAlive, readPids, startGuardian, stopComponents, type ComponentProcess } from './processes.js';
import { startTemporal } from './temporal.js';
import { loadToolPaths } from './tools.js';

/** What a running local stack offers its clients; also written to `<stateDir>/stack.json`. */
export interface StackInfo {
  stateDir: string;
  temporalAddress: string;
  temporalUiUrl: string;
  kubeconfigPath: string;
  apiserverUrl: string;
  startedInMs: number;
}

export interface StartStackOptions {
  /** Keep state here; default: a fresh temporary directory removed at stop. */
  stateDir?: string;
  /** Tear the stack down when this process exits, even if it is killed (default: the current process). */
  ownerPid?: number | null;
  temporalPort?: number;
  temporalUiPort?: number;
  log?: (line: string) => void;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Starts Temporal and the Kubernetes control plane with KWOK, all on 127.0.0.1. */
export async function startStack(opts: StartStackOptions = {}): Promise<StackInfo> {
  const log = opts.log ?? (() => undefined);
  const tools = loadToolPaths();
  const temporary = !opts.stateDir;
  const stateDir = opts.stateDir ? resolve(opts.stateDir) : mkdtempSync(join(tmpdir(), 'slicer-autoscaler-stack-'));
  if (opts.stateDir) {
    // Every start is a fresh cluster: stop what an earlier run left and clear its data.
    await stopStack(stateDir, { keepState: false });
    rmSync(stateDir, { recursive: true, force: true });
  }
  for (const sub of ['logs', 'pki', 'pki/apiserver']) mkdirSync(join(stateDir, sub), { recursive: true });
  if (temporary) writeFileSync(join(stateDir, '.temporary'), '');
  const ownerPid = opts.ownerPid === undefined ? process.pid : opts.ownerPid;
  if (ownerPid !== null) startGuardian(stateDir, ownerPid, join(projectRoot, 'scripts', 'stack-guardian.sh'));

  const t0 = Date.now();
  try {
    log(`[stack] state in ${stateDir}`);
    const temporal = await startTemporal(stateDir, tools.temporal, {
      port: opts.temporalPort,
      uiPort: opts.temporalUiPort,
    });
    log(`[stack] Temporal ready at ${temporal.address} (${Date.now() - t0} ms)`);
    const kube = await startKubernetes(stateDir, tools);
    log(`[stack] Kubernetes ready at ${kube.apiserverUrl} (${Date.now() - t0} ms)`);
    const info: StackInfo = {
      stateDir,
      temporalAddress: temporal.address,
      temporalUiUrl: temporal.uiUrl,
      kubeconfigPath: kube.kubeconfigPath,
      apiserverUrl: kube.apiserverUrl,
      startedInMs: Date.now() - t0,
    };
    writeFileSync(join(stateDir, 'stack.json'), JSON.stringify(info, null, 2));
    return info;
  } catch (err) {
    await stopStack(stateDir);
    throw err;
  }
}

/** Stops every component recorded in the state dir; removes a temporary state dir unless told to keep it. */
export async function stopStack(stateDir: string, opts: { keepState?: boolean } = {}): Promise<void> {
  if (!existsSync(stateDir)) return;
  await stopComponents(stateDir);
  const marker = join(stateDir, 'stack.json');
  if (existsSync(marker)) rmSync(marker);
  if (existsSync(join(stateDir, '.temporary')) && !opts.keepState) rmSync(stateDir, { recursive: true, force: true });
}

/** Each component with whether its process is alive, plus the recorded endpoints if the stack finished starting. */
export function stackStatus(stateDir: string): {
  info: StackInfo | null;
  components: (ComponentProcess & { alive: boolean })[];
} {
  const marker = join(stateDir, 'stack.json');
  const info = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as StackInfo) : null;
  return { info, components: readPids(stateDir).map((p) => ({ ...p, alive: isAlive(p.pid) })) };
}
