import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDockerfile, type DockerfileStage as Stage } from '../../src/build/dockerfile.js';
import { ClusterJoiner } from '../../src/simulator/join.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { freePort } from '../../src/stack/ports.js';
import { autoscalerWorkflowId } from '../../src/shared/ids.js';
import { eventually, freshNamespace, kubeClients } from './helpers/kube.js';

// The image's build, run without Docker (no container runtime starts on our machines): the Dockerfile's build stage
// step by step in a temporary copy of the repo (COPY as a copy, RUN as a shell command), its runtime stage's COPYs,
// then `node dist/cli/main.js worker` the way ENTRYPOINT and CMD start it, through one scale-up on the local stack.
// Not run: the FROM images (this machine's Node instead of node:24), the runtime stage's apt-get (ca-certificates,
// tini: the worker runs without tini here), USER, and the container itself. Slow (npm ci, tsc, webpack): one test.

const repo = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const GIB = 1024 ** 3;
const SLICER_TOKEN = `slicer-image-${randomBytes(6).toString('hex')}`;

/** Runs `sh -c cmd` in `cwd`; resolves with the time taken, rejects with the tail of its output. */
function sh(cmd: string, cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(Date.now() - t0) : reject(new Error(`RUN ${cmd} exited ${code}:\n${out}`)),
    );
  });
}

describe('the Dockerfile, built and run without Docker', () => {
  const { core } = kubeClients();
  const cluster = `img-${randomBytes(2).toString('hex')}`;
  const groupName = `${cluster}-x86`;
  const work = join(inject('stackDir'), cluster);
  const buildDir = join(work, 'build');
  const runDir = join(work, 'app');
  const timings: Record<string, number> = {};
  let stages: Stage[];
  let sim: RunningSimulator;
  let worker: ChildProcess | undefined;
  let workerLog = '';
  let ns = '';

  beforeAll(async () => {
    stages = parseDockerfile(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
    sim = await startSimulator({
      token: SLICER_TOKEN,
      hostGroups: [{ name: groupName, cpus: 2, ramBytes: 4 * GIB, arch: 'x86_64' }],
      joiner: new ClusterJoiner(inject('kubeconfigPath')),
      joinDelayMs: 500,
    });
    ns = await freshNamespace(core, 'img');
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker!.once('exit', r));
    }
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    await new Client({ connection }).workflow
      .getHandle(autoscalerWorkflowId(cluster))
      .terminate('test over')
      .catch(() => undefined);
    await connection.close();
    await sim?.stop();
    for (const n of (await core.listNode({ labelSelector: `slicer/hostgroup=${groupName}` })).items)
      await core.deleteNode({ name: n.metadata!.name! });
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('builds with the build stage’s steps, then the built worker scales up for a pending pod', async () => {
    expect(stages.map((s) => s.name)).toEqual(['build', undefined]);
    const [build, runtime] = stages as [Stage, Stage];

    // Build stage. npm uses this machine's cache first (--prefer-offline), the registry only for what it lacks.
    mkdirSync(buildDir, { recursive: true });
    const buildEnv: NodeJS.ProcessEnv = {
      ...process.env,
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    };
    delete buildEnv['NODE_ENV'];
    delete buildEnv['VITEST'];
    for (const step of build.steps) {
      if (step.op === 'WORKDIR') continue; // buildDir plays /app
      if (step.op === 'COPY') {
        const parts = step.args.split(/\s+/);
        const dest = join(buildDir, parts.at(-1)!);
        for (const src of parts.slice(0, -1)) {
          const target = parts.length > 2 || dest.endsWith('/') ? join(dest, src) : dest;
          cpSync(join(repo, src), target, { recursive: true });
        }
        continue;
      }
      if (step.op === 'RUN') {
        timings[step.args] = await sh(step.args, buildDir, buildEnv);
        continue;
      }
      throw new Error(`build stage: ${step.op} is not run by this test; keep the build stage to COPY and RUN`);
    }
    // What the steps must have produced: compiled CLI, the prebuilt workflow bundle, no dev dependencies.
    expect(existsSync(join(buildDir, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(buildDir, 'dist', 'workflow-bundle.js'))).toBe(true);
    expect(existsSync(join(buildDir, 'node_modules', '@temporalio', 'worker'))).toBe(true);
    expect(existsSync(join(buildDir, 'node_modules', 'vitest'))).toBe(false);

    // Runtime stage: its COPYs (from the build stage, or the repo), its ENV; then ENTRYPOINT + CMD.
    mkdirSync(runDir, { recursive: true });
    const runEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    for (const step of runtime.steps) {
      if (step.op === 'COPY') {
        const [src, dest] = step.args.split(/\s+/) as [string, string];
        if (step.from === 'build') renameSync(join(buildDir, src.replace(/^\/app\//, '')), join(runDir, dest));
        else cpSync(join(repo, src), join(runDir, dest === './' ? src : dest), { recursive: true });
      } else if (step.op === 'ENV') {
        const [k, v] = step.args.split('=') as [string, string];
        runEnv[k] = v;
      } else if (step.op === 'ENTRYPOINT') entrypoint = JSON.parse(step.args) as string[];
      else if (step.op === 'CMD') cmd = JSON.parse(step.args) as string[];
      // RUN apt-get (system packages), WORKDIR (runDir plays /app) and USER need a container: not run here.
    }
    expect(runEnv['NODE_ENV']).toBe('production');
    // tini is PID 1 in the image; here the node process is started directly.
    const nodeAt = entrypoint.indexOf('node');
    expect(nodeAt).toBeGreaterThan(-1);
    const command = [...entrypoint.slice(nodeAt + 1), ...cmd];
    expect(command).toEqual(['--optimize-for-size', 'dist/cli/main.js', 'worker']);
    expect(runEnv['MALLOC_ARENA_MAX']).toBe('2');

    const configPath = join(work, 'cloud-config');
    writeFileSync(
      configPath,
      [
        '[global]',
        'k3s-url = https://127.0.0.1:6443',
        `k3s-token = K10-image-${cluster}`,
        `cluster-name = ${cluster}`,
        'default-min-size = 0',
        'node-provision-timeout = 60s',
        `[nodegroup "${groupName}"]`,
        `slicer-url = ${sim.url}`,
        `slicer-token = ${SLICER_TOKEN}`,
        'max-size = 2',
        '',
      ].join('\n'),
    );
    const healthPort = await freePort();
    const t0 = Date.now();
    worker = spawn(
      process.execPath,
      [
        ...command,
        `--cloud-config=${configPath}`,
        `--kubeconfig=${inject('kubeconfigPath')}`,
        `--health-port=${healthPort}`,
        `--status-namespace=${ns}`,
        '--scan-interval=1s',
      ],
      {
        cwd: runDir,
        env: { ...runEnv, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (d: Buffer) => (workerLog = (workerLog + d.toString()).slice(-8000));
    worker.stdout!.on('data', keep);
    worker.stderr!.on('data', keep);
    await eventually(`the built worker ready on :${healthPort}/readyz`, async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited ${worker!.exitCode}:\n${workerLog}`);
      const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      return res.status === 200;
    });
    timings['worker ready'] = Date.now() - t0;

    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'needs-a-node' },
        spec: {
          nodeSelector: { 'slicer/hostgroup': groupName },
          containers: [
            { name: 'app', image: 'registry.invalid/x:1', resources: { requests: { cpu: '1200m', memory: '1Gi' } } },
          ],
        },
      },
    });
    const t1 = Date.now();
    await eventually(
      'the pod Running on a VM the built worker created',
      async () => {
        if (worker!.exitCode !== null) throw new Error(`worker exited ${worker!.exitCode}:\n${workerLog}`);
        const pod = await core.readNamespacedPod({ name: 'needs-a-node', namespace: ns });
        return pod.status?.phase === 'Running';
      },
      120_000,
    );
    timings['scale-up'] = Date.now() - t1;
    expect(sim.vms()).toHaveLength(1);
    expect(sim.vms()[0]!.tags.some((t) => t.startsWith(`slicer-autoscaler/op=scale-up/${groupName}/`))).toBe(true);
    // It ran the prebuilt bundle the Dockerfile made, not webpack at start-up.
    expect(existsSync(join(runDir, 'dist', 'workflow-bundle.js'))).toBe(true);
    console.log(
      `[image-build] ${Object.entries(timings)
        .map(([k, v]) => `${k}: ${(v / 1000).toFixed(1)}s`)
        .join('; ')}`,
    );
  }, 1_200_000);
});
