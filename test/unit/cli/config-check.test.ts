import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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

  const dir = mkdtempSync(join(tmpdir(), 'cfg-cli-'));
  const TOKEN = 'K10feedface0123456789::server:hunter2-rotated';
  const GOOD = `[global]\nk3s-url = https://10.0.0.1:6443\nk3s-token = ${TOKEN}\n[nodegroup "x86"]\nslicer-url = http://10.0.1.1:8081\nslicer-token = slicer-secret-42\n`;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const noSecret = (r: { stdout: string; stderr: string }) => {
    expect(r.stdout + r.stderr).not.toMatch(/hunter2|feedface|slicer-secret-42/);
  };

  it('a CR-only file: one line of explanation, exit 1, no token anywhere', async () => {
    const r = await check(file('cr.ini', GOOD.replace(/\n/g, '\r')));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `invalid cloud-config:\n  - ${join(dir, 'cr.ini')} line 1: carriage returns (CR) without line feeds, so the file reads as one line; save it with LF (Unix) or CRLF (Windows) line endings\n`,
    );
    noSecret(r);
  }, 30_000);

  it("'k3s-token: VALUE': names the key, exit 1, no token anywhere", async () => {
    const r = await check(file('colon.ini', GOOD.replace(`k3s-token = ${TOKEN}`, `k3s-token: ${TOKEN}`)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`line 3: expected '=' after k3s-token; write k3s-token = VALUE`);
    noSecret(r);
  }, 30_000);

  it('a URL with a password: refused, exit 1, the password never printed', async () => {
    const r = await check(file('userinfo.ini', GOOD.replace('http://10.0.1.1', 'http://admin:hunter2@10.0.1.1')));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[nodegroup "x86"] slicer-url (line 5): has a user name or password before @');
    noSecret(r);
  }, 30_000);

  it('a symlink to /dev/zero: refused at once, exit 1', async () => {
    const link = join(dir, 'zero.ini');
    symlinkSync('/dev/zero', link);
    const r = await check(link);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${link}: not a regular file (a character device)`);
  }, 30_000);

  it('shows the effective config with the flags applied, and warns once per flag it ignores', async () => {
    const r = await check(
      file(
        'flags.ini',
        GOOD +
          'scale-down-unneeded-time = 5m\n[nodegroup "arm"]\nslicer-url = http://10.0.1.2:8081\nslicer-token = s\n',
      ),
      '--cloud-provider=slicer',
      '--scale-down-unneeded-time=30s',
      '--expander',
      'random',
      '--balance-similar-node-groups',
      '--scale-down-delay-after-add=30s',
      '--v=4',
      '--leader-elect=false',
    );
    expect(r.code).toBe(0);
    const [global, x86, arm] = r.stdout.split('[nodegroup ');
    expect(global).toContain('expander = random ; from --expander\n');
    expect(x86).toContain('scale-down-unneeded-time = 5m\n');
    expect(arm).toContain('scale-down-unneeded-time = 30s ; from --scale-down-unneeded-time\n');
    expect(r.stdout).toContain('; --scale-down-delay-after-add=30s\n');
    expect(r.stdout).toContain('; --balance-similar-node-groups=true\n');
    expect(r.stdout).toContain('; --v=4\n');
    expect(r.stderr).toBe(
      'warning: --leader-elect=false is accepted but not implemented: one evaluator per cluster is guaranteed by its workflow ID autoscaler/<cluster-name>, so replicas need no leader\n',
    );
    noSecret(r);
  }, 30_000);

  it('refuses a flag whose being ignored would be unsafe, exit 2', async () => {
    const r = await check(file('ok.ini', GOOD), '--ignore-daemonsets-utilization=false');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^--ignore-daemonsets-utilization=false is refused: utilization always leaves DaemonSet pods out/,
    );
  }, 30_000);
});
