import { spawn } from 'node:child_process';
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
});
