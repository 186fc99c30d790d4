import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadToolPaths } from '../../src/stack/tools.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { eventually, isReady } from './helpers/kube.js';
import { startProduct, type Product } from './helpers/product.js';

// Issue 12: every operator command also works as a signal of the same name and input, sent here with the real
// `temporal` binary as an operator (or the Web UI's "Send a Signal") would. A signal cannot answer, so a refused
// one is recorded in `status.refusals`; nothing is ever half-applied.

const execFileAsync = promisify(execFile);

describe('operator commands as signals', () => {
  let p: Product;
  const temporal = loadToolPaths().temporal;
  const signal = (name: string, input: string) =>
    execFileAsync(temporal, [
      'workflow',
      'signal',
      '--workflow-id',
      autoscalerWorkflowId(p.cluster),
      '--name',
      name,
      '--input',
      input,
      '--address',
      inject('temporalAddress'),
    ]);

  beforeAll(async () => {
    p = await startProduct({
      groups: [{ suffix: 'x86', cpus: 2, ramGib: 4, lines: ['max-size = 2'] }],
      global: ['scale-down-unneeded-time = 10m'],
      flags: ['--scan-interval=1s'],
    });
    await eventually('a first plan', async () => (await p.evaluator().query(statusQuery)).groups[p.groups[0]!]);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('acts on a valid scaleGroup signal exactly like the update', async () => {
    const group = p.groups[0]!;
    await signal('scaleGroup', JSON.stringify({ group, size: 1, reason: 'from the Web UI' }));
    await eventually('one Ready node', async () => (await p.nodes(group)).filter(isReady).length === 1);
    expect(p.sim.vms()).toHaveLength(1);
    expect((await p.evaluator().query(statusQuery)).refusals).toEqual([]);
  });

  it('records refused signals in status: out of range, schema-invalid input, unknown group', async () => {
    const group = p.groups[0]!;
    await signal('scaleGroup', JSON.stringify({ group, size: 9 }));
    await signal('scaleGroup', JSON.stringify({ group, size: 'two' }));
    await signal('scaleGroup', JSON.stringify({ group: 'no-such-group', size: 1 }));
    await signal('drainNode', JSON.stringify({ node: 'not-a-node' }));
    const refusals = await eventually('four refusals in status', async () => {
      const r = (await p.evaluator().query(statusQuery)).refusals;
      return r.length >= 4 ? r : undefined;
    });
    const reasons = refusals.map((r) => r.reason);
    expect(reasons).toContainEqual(expect.stringMatching(/max-size is 2/));
    expect(reasons).toContainEqual(expect.stringMatching(/size: .*number/i));
    expect(reasons).toContainEqual(expect.stringMatching(/unknown node group 'no-such-group'/));
    expect(reasons).toContainEqual(expect.stringMatching(/not-a-node is not a node slicer-autoscaler manages/));
    expect(refusals.every((r) => r.command && r.at > 0 && r.input.length > 0)).toBe(true);
    // Nothing was half-applied: still one VM.
    expect(p.sim.vms()).toHaveLength(1);
  });

  it('the temporal CLI refuses input that is not JSON before anything is sent', async () => {
    await expect(signal('scaleGroup', '{not json')).rejects.toThrow();
    expect((await p.evaluator().describe()).status.name).toBe('RUNNING');
  });

  it('pause and resume by signal', async () => {
    await signal('pause', JSON.stringify({ reason: 'maintenance by signal' }));
    await eventually(
      'paused',
      async () => (await p.evaluator().query(statusQuery)).paused?.reason === 'maintenance by signal',
    );
    await signal('resume', '{}');
    await eventually('resumed', async () => (await p.evaluator().query(statusQuery)).paused === null);
  });
});
