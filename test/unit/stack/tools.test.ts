import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadToolPaths } from '../../../src/stack/tools.js';
import { freePort } from '../../../src/stack/ports.js';

const KEYS = [
  'temporal',
  'etcd',
  'kubeApiserver',
  'kubeControllerManager',
  'kubeScheduler',
  'kubectl',
  'kwok',
  'kwokStages',
  'helm',
];

describe('loadToolPaths', () => {
  it('tells the user to run npm run tools when nothing was built', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tools-'));
    expect(() => loadToolPaths(dir)).toThrow(/run 'npm run tools' first/);
  });

  it('names the missing binary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tools-'));
    const manifest = Object.fromEntries(KEYS.map((k) => [k, join(dir, k)]));
    for (const k of KEYS.filter((k) => k !== 'kwok')) {
      writeFileSync(join(dir, k), '');
      chmodSync(join(dir, k), 0o755);
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    expect(() => loadToolPaths(dir)).toThrow(/Tool 'kwok' is missing/);
  });

  it('rejects a manifest without every tool', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tools-'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ temporal: '/bin/true' }));
    expect(() => loadToolPaths(dir)).toThrow(/malformed/);
  });
});

describe('freePort', () => {
  it('never hands out the same port twice in one process', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    expect(ports.every((p) => p > 0 && p < 65536)).toBe(true);
  });
});
