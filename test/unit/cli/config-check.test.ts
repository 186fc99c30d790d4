import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `slicer-autoscaler config check` as a user runs it: a real process, its output and its exit code.
const run = promisify(execFile);
const cli = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
const fixture = (name: string) => new URL(`../../fixtures/cloud-config/${name}`, import.meta.url).pathname;

async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, 'config', 'check', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('slicer-autoscaler config check', () => {
  it.each(['docs-one-group.ini', 'docs-two-groups.ini'])(
    'prints the effective config of %s with tokens redacted and exits 0',
    async (name) => {
      const r = await check(fixture(name));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('[nodegroup "k3s-agents-1"]');
      expect(r.stdout).toContain('slicer-token = [redacted]');
      expect(r.stdout).toContain('k3s-token = [redacted]');
      expect(r.stdout).toContain('min-size = 0');
      expect(r.stdout).toContain('max-size = 10');
      expect(r.stdout + r.stderr).not.toContain('$(cat ~/slicer-token-1.txt)');
    },
    30_000,
  );

  it('prints every problem and exits 1, never echoing a token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.ini');
    writeFileSync(
      file,
      '[global]\nk3s-url=10.0.0.1:6443\nk3s-token=hunter2-very-secret\n[nodegroup "x"]\nslicer-url=http://h:1\nslicer-token=also-secret\nmin-size=4\nmax-size=2\nmax_size=3\n',
    );
    const r = await check(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[global\] k3s-url \(line 2\): expected a URL with its scheme/);
    expect(r.stderr).toMatch(/min-size 4 \(min-size\) is greater than max-size 2/);
    expect(r.stderr).toMatch(/max_size \(line 9\): unknown key; did you mean max-size\?/);
    expect(r.stdout + r.stderr).not.toMatch(/hunter2|also-secret/);
  }, 30_000);

  it('exits 2 with the usage when the file is missing from the command', async () => {
    const r = await check();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config check needs a FILE/);
  }, 30_000);
});
