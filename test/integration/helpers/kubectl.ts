import { spawn } from 'node:child_process';
import { inject } from 'vitest';
import { loadToolPaths } from '../../../src/stack/tools.js';

/**
 * Runs the real kubectl against the stack (admin kubeconfig unless given), feeding `input` on stdin. Asynchronous,
 * so a worker running in this process keeps answering while kubectl waits. Rejects with kubectl's stderr.
 */
export function kubectl(args: string[], input?: string, kubeconfig = inject('kubeconfigPath')): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(loadToolPaths().kubectl, ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}
