import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkOperatorArgs, UsageError, type OperatorArgs, type OperatorVerb } from '../../../src/cli/operator.js';

// Operator commands and the worker as processes: arguments are checked before anything connects, and a failed
// connection names the address.
const cli = new URL('../../../src/cli/main.ts', import.meta.url).pathname;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, ...args], {
      timeout: 25_000,
      // An address nothing listens on: a command that tried to connect would say so.
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function refusal(verb: OperatorVerb, args: Partial<OperatorArgs>): string {
  try {
    checkOperatorArgs(verb, { positionals: [], ...args });
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('operator arguments, checked before connecting', () => {
  it.each([
    ['scale', {}, 'scale needs GROUP and SIZE; usage: slicer-autoscaler scale GROUP SIZE [--reason R]'],
    ['scale', { positionals: ['g'] }, 'scale needs SIZE; usage: slicer-autoscaler scale GROUP SIZE [--reason R]'],
    [
      'scale',
      { positionals: ['g', 'many'] },
      "scale: SIZE must be a whole number 0 or more, got 'many'; usage: slicer-autoscaler scale GROUP SIZE [--reason R]",
    ],
    [
      'scale',
      { positionals: ['g', '-1'] },
      "scale: SIZE must be a whole number 0 or more, got '-1'; usage: slicer-autoscaler scale GROUP SIZE [--reason R]",
    ],
    ['drain', {}, 'drain needs NODE; usage: slicer-autoscaler drain NODE [--reason R]'],
    ['explain', {}, 'explain needs POD|NODE; usage: slicer-autoscaler explain POD|NODE'],
    ['status', { positionals: ['x'] }, "status: unexpected argument 'x'; usage: slicer-autoscaler status"],
    [
      'pause',
      {},
      'pause needs --reason R, saying why (e.g. "maintenance window"); usage: slicer-autoscaler pause [--group G] --reason R [--for S]',
    ],
    [
      'drain',
      { positionals: ['n'], group: 'g' },
      'drain takes no --group; usage: slicer-autoscaler drain NODE [--reason R]',
    ],
    [
      'release',
      { positionals: ['n'], forSeconds: 60 },
      'release takes no --for; usage: slicer-autoscaler release NODE',
    ],
    [
      'hold',
      { positionals: ['n'], reason: ' ' },
      '--reason: say why in 1 to 500 characters, like --reason "maintenance window"',
    ],
    [
      'pause',
      { reason: 'r', forSeconds: 8 * 24 * 3600 },
      '--for: expected more than 0 and at most 604800 seconds (7 days)',
    ],
  ] as const)('%s %j', (verb, args, message) => {
    expect(refusal(verb, args as Partial<OperatorArgs>)).toBe(message);
  });

  it('builds the request the evaluator gets', () => {
    expect(checkOperatorArgs('scale', { positionals: ['g', '3'] })).toEqual({ verb: 'scale', group: 'g', size: 3 });
    expect(checkOperatorArgs('hold', { positionals: ['n'] })).toEqual({
      verb: 'hold',
      node: 'n',
      reason: 'operator hold',
    });
  });

  it('scale with no arguments: exit 2 with the usage, no connection attempted', async () => {
    const r = await run('scale');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      'scale needs GROUP and SIZE; usage: slicer-autoscaler scale GROUP SIZE [--reason R]',
    );
    expect(r.stderr).not.toMatch(/connect/i);
  }, 30_000);

  it('a failed connection names the address', async () => {
    // A port that was free a moment ago: nothing answers there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await run('status', '--address', `127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: cannot connect to Temporal at 127\\.0\\.0\\.1:${port}: .*; set --address or TEMPORAL_ADDRESS\\n$`,
      ),
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
  }, 30_000);
});

describe('worker arguments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-args-'));
  const config = join(dir, 'cloud-config');
  writeFileSync(
    config,
    '[global]\nk3s-url = https://10.0.0.1:6443\nk3s-token = t\n[nodegroup "g"]\nslicer-url = http://10.0.1.1:8081\nslicer-token = s\n',
  );

  it('reads the incumbent path /etc/slicer/cloud-config when --cloud-config is not given', async () => {
    const r = await run('worker');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read /etc/slicer/cloud-config: ENOENT');
  }, 30_000);

  it.each([
    [['--health-port', 'abc'], '--health-port: expected a port number from 0 to 65535'],
    [
      ['--cloud-provider=aws'],
      '--cloud-provider=aws: slicer-autoscaler only drives Slicer; set --cloud-provider=slicer or leave it out',
    ],
    [['--scale-down-utilization-threshold='], '--scale-down-utilization-threshold is empty; give it a value'],
  ])(
    'refuses %j with exit 2',
    async (args, message) => {
      const r = await run('worker', `--cloud-config=${config}`, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(message);
    },
    30_000,
  );

  it("takes the Slicer guide's chart arguments and stops at a busy health port with a clear error", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await run(
        'worker',
        '--cloud-provider=slicer',
        '--namespace=kube-system',
        `--cloud-config=${config}`,
        '--logtostderr=true',
        '--stderrthreshold=info',
        '--v=4',
        '--scale-down-enabled=true',
        '--scale-down-delay-after-add=30s',
        '--scale-down-unneeded-time=30s',
        '--expendable-pods-priority-cutoff=-10',
        '--expander=random',
        '--balance-similar-node-groups',
        `--health-port=${port}`,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: --health-port ${port}: the port is already in use; pick another, or 0 for none\n`);
    } finally {
      busy.close();
    }
  }, 30_000);
});
