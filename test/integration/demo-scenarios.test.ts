import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';

// The demo's scenarios as CI runs them: the real command, non-interactive (--plain), on the test run's stack
// (--attach), each ending with its verdict line and a clean teardown that prints nothing alarming.

const execFileAsync = promisify(execFile);

async function scenario(name: string): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(
    process.execPath,
    ['--import', 'tsx', 'src/demo/main.ts', '--scenario', name, '--plain', '--attach', inject('stackDir')],
    { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
  );
}

function expectQuiet(stderr: string): void {
  // No stack trace, no error logged by the worker, no WorkflowNotFoundError from the watch at teardown.
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('WorkflowNotFoundError');
  expect(stderr).not.toContain('[ERROR]');
}

describe('demo scenarios', () => {
  it("docs: the Slicer guide's demo ends OK with nothing left behind", { timeout: 180_000 }, async () => {
    const { stdout, stderr } = await scenario('docs');
    const verdict = stdout.split('\n').find((l) => l.includes('verdict: docs'));
    expect(verdict).toMatch(
      /verdict: docs OK: sleep 100 -> 300 -> 400 -> 1 \(50m\/50Mi\): 400 pods Running on 10 VMs \(k3s-agents-1 [1-8], k3s-agents-2 [1-4]\), 0 on the tainted control plane; back to 1 VM \d+s after the scale to 1; nothing left behind \(1 VM\(s\), each a Ready Node, no operation running, no pod pending\)/,
    );
    expectQuiet(stderr);
  });

  it(
    'never-joins: the VM is deleted at the timeout, the group backs off, the other serves',
    { timeout: 180_000 },
    async () => {
      const { stdout, stderr } = await scenario('never-joins');
      const verdict = stdout.split('\n').find((l) => l.includes('verdict: never-joins'));
      expect(verdict).toMatch(
        /verdict: never-joins OK: slicer-fast-[0-9a-f]+-1 never joined: NodeNotReadyInTime, deleted at the 15s timeout with its console tail \(".+"\); slicer-fast backed off \(1 failure\); slicer-steady served 3\/3 pods on 1 VM\(s\); nothing left behind/,
      );
      expectQuiet(stderr);
    },
  );
});
