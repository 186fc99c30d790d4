import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SCENARIOS,
  decodedPayloads,
  historyFiles,
  readManifest,
  recordedReleases,
  type ScenarioName,
} from '../../fixtures/histories/fixtures.js';

// Safe upgrades: every history recorded from an earlier release (test/fixtures/histories/<release>/, written by
// `npm run record-histories`) must replay against today's workflow code. A change that would break a workflow
// still running when a new worker image rolls out fails here, before it ships (docs/upgrade.md). No server is
// needed: the replay runs in this process.

Runtime.install({ logger: new DefaultLogger('ERROR') });

const releases = recordedReleases();
const files = releases.flatMap((r) => historyFiles(r));
const label = (file: string) => `${basename(dirname(file))}/${basename(file, '.json')}`;
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let workflowBundle: { code: string };
beforeAll(async () => {
  workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../../src/workflows/index.ts', import.meta.url)),
    logger: quiet,
  });
}, 120_000);

async function replay(histories: { workflowId: string; history: unknown }[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle, replayName: 'fixtures' }, histories))
    results.push(r);
  return results;
}

describe('recorded histories', () => {
  it('exist: every release directory records every scenario, and the manifest matches the files', () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) {
      const manifest = readManifest(release);
      expect(manifest.release).toBe(release);
      expect(Object.keys(manifest.histories).sort()).toEqual(Object.keys(SCENARIOS).sort());
      for (const [name, h] of Object.entries(manifest.histories)) {
        const text = readFileSync(
          files.find((f) => label(f) === `${release}/${name}`)!,
          'utf8',
        );
        const history = JSON.parse(text) as { events: { eventType: string }[] };
        expect(history.events, `${release}/${name}`).toHaveLength(h.events);
        expect(text).toContain(`"${SCENARIOS[name as ScenarioName].workflowType}"`);
      }
    }
  });

  it('hold no secret: no k3s token, no token field, no private key, in the envelope or in any payload', () => {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const seen of [text, decodedPayloads(text)]) {
        expect(seen, label(file)).not.toMatch(/K10[0-9a-f]{16,}/);
        expect(seen, label(file)).not.toMatch(/"[\w-]*token"\s*:\s*"[^"]/i);
        expect(seen, label(file)).not.toMatch(/(slicer|k3s)-token\s*=/);
        expect(seen, label(file)).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
      }
      // Guard against a vacuous pass: the payloads decoded into the workflows' own JSON.
      expect(decodedPayloads(text)).toMatch(/"(cluster|group|node)":"/);
    }
  });

  it('replay against today’s workflow code without a nondeterminism error', async () => {
    const results = await replay(
      files.map((f) => ({ workflowId: label(f), history: JSON.parse(readFileSync(f, 'utf8')) as unknown })),
    );
    expect(results.map((r) => r.workflowId)).toEqual(files.map(label));
    const failures = results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error!.message}`);
    expect(failures).toEqual([]);
  }, 120_000);

  it('fail when the code’s commands differ from a history’s (the replay is not a rubber stamp)', async () => {
    // The same change a renamed or reordered activity makes: the first activity the history scheduled is one
    // today's code never schedules at that point.
    const file = files.find((f) => label(f).endsWith('/scale-down-removes'))!;
    const history = JSON.parse(readFileSync(file, 'utf8')) as {
      events: { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
    };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType.name = 'anActivityTodaysCodeNeverCalls';
    const [result] = await replay([{ workflowId: 'mutated', history }]);
    expect(result!.error).toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
