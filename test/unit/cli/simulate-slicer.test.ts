import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { createSlicerClient } from '../../../src/slicer/client.js';

// `slicer-autoscaler simulate-slicer` as a process: one ready line, then the API answers with its token.
describe('slicer-autoscaler simulate-slicer', () => {
  it('prints one ready line and serves the host groups it was given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'cli-sim-token\n');
    const cli = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        'simulate-slicer',
        '--token-file',
        tokenFile,
        '--hostgroup',
        'k3s-agents-1:2:4',
        '--hostgroup',
        'arm:4:8:aarch64',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.startsWith('slicer simulator ready at '));
          if (line) resolve(line);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
        setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
      });
      const url = /ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(ready)![1]!;
      const client = createSlicerClient({ url, token: new Secret('cli-sim-token') });
      const groups = await client.listHostGroups();
      expect(groups.map((g) => [g.name, g.cpus, g.ramBytes / 1024 ** 3, g.arch])).toEqual([
        ['k3s-agents-1', 2, 4, 'amd64'],
        ['arm', 4, 8, 'arm64'],
      ]);
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);

  const cli = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
  async function sim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, 'simulate-slicer', ...args], {
        timeout: 20_000,
      });
      return { code: 0, ...r };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'sim-args-')), 'token');
  writeFileSync(tokenFile, 'tok\n');

  it.each([
    [['--hostgroup', 'x:0:0'], '--hostgroup x:0:0: CPUS must be a whole number from 1 to 1024'],
    [['--hostgroup', 'x:4:8:mips'], '--hostgroup x:4:8:mips: ARCH must be x86_64, amd64, aarch64 or arm64'],
    [['--hostgroup', 'x:4:8', '--hostgroup', 'x:2:4'], '--hostgroup x is given twice; give each host group once'],
    [
      ['--hostgroup', 'x:4:8', '--port', 'abc'],
      '--port abc: expected a port number from 0 to 65535 (0 picks a free one)',
    ],
    [['--hostgroup', 'x:4:8', '--host-ram-gib', '0'], '--host-ram-gib 0: expected a number of GiB above 0'],
  ])(
    'refuses %j with exit 2',
    async (args, message) => {
      const r = await sim('--token-file', tokenFile, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(message);
    },
    30_000,
  );

  it('says the port is in use, exit 1, without a stack trace', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await sim('--token-file', tokenFile, '--hostgroup', 'x:1:1', '--port', String(port));
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: 127.0.0.1:${port} is already in use; choose another --port, or 0 for a free one\n`);
    } finally {
      busy.close();
    }
  }, 30_000);

  it('starts as an old daemon that ignores tag filters with --ignore-tag-filters', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        'simulate-slicer',
        '--token-file',
        tokenFile,
        '--hostgroup',
        'g:1:1',
        '--ignore-tag-filters',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
        setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
      });
      const client = createSlicerClient({ url, token: new Secret('tok') });
      await client.createVm('g', { tags: ['a'] });
      await client.createVm('g', { tags: ['b'] });
      expect(await client.listVms('g', { tag: 'a' })).toHaveLength(2);
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});
