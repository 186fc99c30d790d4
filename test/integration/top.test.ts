import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { statusQuery } from '../../src/workflows/messages.js';
import './helpers/temporal.js';
import { eventually, kubeClients } from './helpers/kube.js';
import { simulatedCluster } from './helpers/worker.js';

// `slicer-autoscaler top` as an operator runs it: in a real pseudo-terminal (tmux), against a worker on the stack,
// and piped (one plain frame). CI must have tmux installed (.ci/run does).

const execFileAsync = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

describe('slicer-autoscaler top', () => {
  const { apps } = kubeClients();
  let env: Awaited<ReturnType<typeof simulatedCluster>>;
  const session = `top-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    try {
      execFileSync('tmux', ['-V']);
    } catch {
      throw new Error('tmux is needed for the pseudo-terminal test: apt-get install -y tmux');
    }
    env = await simulatedCluster({ prefix: 'top' });
    // One pod that needs a VM, so the view has a group with a Ready node to show.
    await apps.createNamespacedDeployment({
      namespace: env.ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              nodeSelector: { 'slicer/hostgroup': env.group },
              containers: [{ name: 'web', image: 'registry.invalid/web:1', resources: { requests: { cpu: '1' } } }],
            },
          },
        },
      },
    });
    const evaluator = env.evaluator();
    await eventually(
      'the evaluator to see one Ready node',
      async () => (await evaluator.query(statusQuery)).groups[env.group]?.ready === 1,
      90_000,
    );
  });

  afterAll(async () => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
    await env?.stop();
  });

  it('draws a refreshing view in a terminal, quits on q and gives the terminal back', async () => {
    const args = ['top', '--cluster', env.cluster, '--address', inject('temporalAddress'), '--interval', '1s'];
    // After top exits, the same shell prints its exit code and the terminal modes, so the test can see both.
    const script = `node ${CLI.join(' ')} ${args.join(' ')}; echo "EXIT=$?"; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 60`;
    // CI=true as a CI job's shell has it: ink draws no frame but the last there unless top loads it without it.
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', '-e', 'CI=true', '-c', process.cwd(), script);
    let pane = '';
    const frame = await eventually(
      'a frame with the group',
      async () => {
        pane = tmux('capture-pane', '-p', '-t', session);
        return new RegExp(`${env.group}\\s+0\\s+8\\s+1\\s+1/1`).test(pane) ? pane : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the terminal shows:\n${pane}`);
    });
    expect(frame).toContain(`slicer-autoscaler top · cluster ${env.cluster} · evaluated`);
    expect(frame).toMatch(/MANAGED NODES \(1\)/);
    expect(frame).toContain('q quit · refreshes every 1s');
    // It refreshes in place: the clock in the title moves, and the screen is still one frame.
    const clock = (text: string) => /evaluated .* · (\d\d:\d\d:\d\d) UTC/.exec(text)?.[1];
    await eventually(
      'a later frame',
      async () => {
        const later = tmux('capture-pane', '-p', '-t', session);
        return clock(later) !== undefined && clock(later) !== clock(frame) ? later : undefined;
      },
      10_000,
    );
    expect(tmux('capture-pane', '-p', '-t', session).match(/slicer-autoscaler top/g)).toHaveLength(1);
    // While it runs the cursor is hidden; ink shows it again on exit.
    expect(tmux('display', '-p', '-t', session, '#{cursor_flag}').trim()).toBe('0');
    tmux('send-keys', '-t', session, 'q');
    const after = await eventually(
      'top to exit',
      async () => {
        const pane = tmux('capture-pane', '-p', '-t', session);
        return /EXIT=\d+[\s\S]*echo/.test(pane) ? pane : undefined;
      },
      20_000,
    );
    expect(after).toMatch(/EXIT=0/);
    // Cooked mode again: canonical input and echo are on (stty prints -icanon / -echo when they are off).
    expect(after).toMatch(/(^|\s)icanon\s/m);
    expect(after).toMatch(/(^|\s)echo\s/m);
    expect(after).not.toMatch(/-icanon|-echo\s/);
    expect(tmux('display', '-p', '-t', session, '#{cursor_flag}').trim()).toBe('1');
  });

  it('prints one plain frame when its output is not a terminal', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      ...CLI,
      'top',
      '--cluster',
      env.cluster,
      '--address',
      inject('temporalAddress'),
    ]);
    expect(stdout).toMatch(new RegExp(`${env.group}\\s+0\\s+8\\s+1\\s+1/1`));
    expect(stdout).toContain('Temporal UI:');
    expect(stdout).not.toContain('\u001b[');
  });

  it('says plainly when there is no evaluator, with exit code 1', async () => {
    const run = execFileAsync(process.execPath, [
      ...CLI,
      'top',
      '--cluster',
      'nobody-here',
      '--address',
      inject('temporalAddress'),
    ]);
    await expect(run).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringContaining('no evaluator autoscaler/nobody-here in namespace default'),
    });
  });
});
