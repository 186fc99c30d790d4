import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadClientConfigProfile } from '@temporalio/envconfig';
import { parseFlags } from '../../../src/config/flags.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../../src/workflows/search-attributes.js';

// No Docker engine or `docker compose` here: these checks keep the compose files and the Dockerfile honest against
// our own code instead. The chart and deploy/*.yaml are checked in chart.test.ts.
const root = new URL('../../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
const exists = (p: string) => existsSync(new URL(p, root));

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = (file: string) => parse(read(file)) as { services: Record<string, ComposeService> };

/** What @temporalio/envconfig (the `temporal` CLI's variables) makes of an environment, files and env only. */
const temporalProfile = (env: Record<string, string>) =>
  loadClientConfigProfile({ disableFile: true, overrideEnvVars: env });

/** `${VAR:-default}` as compose would substitute it with VAR unset. */
const substitute = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

/** A pinned image: an explicit tag that names a version, never `latest`. */
const pinned = (image: string) => /^[\w./-]+:\d+(\.\d+)*(-[\w.]+)?$/.test(image);

describe('docker-compose.yml: Temporal on PostgreSQL, the Web UI and the worker', () => {
  const { services } = compose('docker-compose.yml');

  it('pins every image, and moves Temporal server and admin-tools (which holds its schema) together', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect(pinned(s.image ?? ''), `${name}: ${s.image}`).toBe(true);
    }
    const version = (svc: string) => services[svc]!.image!.split(':')[1];
    expect(version('temporal-schema')).toBe(version('temporal'));
    expect(version('temporal-setup')).toBe(version('temporal'));
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
  });

  it('sets up the schema with the admin tools before the server starts, on the database the server uses', () => {
    const schema = services['temporal-schema']!;
    expect(schema.depends_on!['postgresql']!.condition).toBe('service_healthy');
    expect(services['temporal']!.depends_on!['temporal-schema']!.condition).toBe('service_completed_successfully');
    const script = schema.entrypoint!.at(-1)!.replace('/setup/', 'deploy/compose/');
    expect(exists(script)).toBe(true);
    execFileSync('sh', ['-n', new URL(script, root).pathname]);
    const text = read(script);
    // Both stores, with the plugin the server is configured for.
    const server = services['temporal']!.environment!;
    expect(text).toContain(`--plugin ${server['DB']}`);
    expect(text).toMatch(/temporal:temporal temporal_visibility:visibility/);
    // One password for the database, the schema job and the server.
    const pw = substitute(services['postgresql']!.environment!['POSTGRES_PASSWORD']!);
    expect(substitute(schema.environment!['SQL_PASSWORD']!)).toBe(pw);
    expect(substitute(server['POSTGRES_PWD']!)).toBe(pw);
    expect(schema.environment!['POSTGRES_SEEDS']).toBe('postgresql');
    expect(server['POSTGRES_SEEDS']).toBe('postgresql');
  });

  it("mounts the server's dynamic config file where DYNAMIC_CONFIG_FILE_PATH points", () => {
    const t = services['temporal']!;
    const mount = t.volumes!.find((v) => v.includes('/etc/temporal/config/dynamicconfig'))!;
    const file = t.environment!['DYNAMIC_CONFIG_FILE_PATH']!.replace('config/dynamicconfig/', '');
    const local = `${mount.split(':')[0]!.replace(/^\.\//, '')}/${file}`;
    expect(exists(local), local).toBe(true);
    expect(Object.keys(parse(read(local)) as object)).toContain('frontend.enableUpdateWorkflowExecution');
  });

  it('creates every search attribute our workflows set, with its type, before the worker starts', () => {
    const setup = services['temporal-setup']!;
    const script = setup.entrypoint!.at(-1)!.replace('/setup/', 'deploy/compose/');
    execFileSync('sh', ['-n', new URL(script, root).pathname]);
    const text = read(script);
    const names = /for name in ([\w ]+); do/.exec(text)![1]!.split(' ');
    expect(names.sort()).toEqual(ALL_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    // Every one of ours is a Keyword (the script creates Keywords).
    expect(ALL_SEARCH_ATTRIBUTES.every((k) => k.type === 'KEYWORD')).toBe(true);
    expect(services['worker']!.depends_on!['temporal-setup']!.condition).toBe('service_completed_successfully');
    // The CLI in the admin-tools image reads the same variable our worker does.
    expect(temporalProfile(setup.environment!).address).toBe('temporal:7233');
  });

  it('runs the worker with arguments our CLI accepts, the cloud-config where it is mounted, env it reads', () => {
    const worker = services['worker']!;
    expect(worker.build).toBe('.');
    expect(worker.command![0]).toBe('worker');
    const { options, other } = parseFlags(worker.command!.slice(1));
    expect(other).toEqual({});
    expect(worker.volumes!.some((v) => v.split(':')[1] === options.cloudConfig)).toBe(true);
    expect(worker.ports!.some((p) => p.endsWith(`:${options.healthPort}`))).toBe(true);
    const profile = temporalProfile(worker.environment!);
    expect(profile).toMatchObject({ address: 'temporal:7233', namespace: 'default' });
    expect(worker.volumes!.some((v) => v.split(':')[1] === worker.environment!['KUBECONFIG'])).toBe(true);
  });
});

describe('docker-compose.dev.yml: the dev server for trying it out', () => {
  const { services } = compose('docker-compose.dev.yml');

  it('pins the Temporal CLI image we build and test against, and registers every search attribute', () => {
    const temporal = services['temporal']!;
    expect(temporal.image).toBe('temporalio/temporal:1.5.1');
    expect(read('scripts/tools.sh')).toContain('TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"');
    const args = temporal.command!.join(' ');
    for (const key of ALL_SEARCH_ATTRIBUTES) expect(args).toContain(`${key.name}=Keyword`);
  });

  it('runs the worker with arguments our CLI accepts', () => {
    const worker = services['worker']!;
    expect(worker.build).toBe('.');
    expect(worker.command![0]).toBe('worker');
    const { options } = parseFlags(worker.command!.slice(1));
    expect(worker.volumes!.some((v) => v.split(':')[1] === options.cloudConfig)).toBe(true);
    expect(temporalProfile(worker.environment!)).toMatchObject({ address: 'temporal:7233', namespace: 'default' });
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; scripts: Record<string, string> };

  it('builds on pinned base images and runs every build step the worker needs', () => {
    for (const from of lines.filter((l) => l.startsWith('FROM '))) {
      const image = from.split(/\s+/)[1]!;
      expect(image, from).toMatch(/^node:\d+-[\w-]+$/);
    }
    const run = lines.filter((l) => l.startsWith('RUN ')).join('\n');
    for (const step of ['npm ci', 'npm run build', 'npm run bundle-workflows', 'npm prune --omit=dev'])
      expect(run).toContain(step);
    expect(pkg.scripts['bundle-workflows']).toBeDefined();
    // Every path the build stage copies exists in the repo.
    for (const copy of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
      for (const src of copy.split(/\s+/).slice(1, -1)) expect(exists(src), copy).toBe(true);
    }
  });

  it('starts our CLI (the package bin) as the worker, as a numeric non-root user', () => {
    const entry = JSON.parse(lines.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
    // node, its options (the memory settings), then our bin last.
    expect(entry.at(-1)).toBe(pkg.bin['slicer-autoscaler']);
    expect(entry.slice(entry.indexOf('node') + 1, -1)).toEqual(['--optimize-for-size']);
    const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))!.slice('CMD '.length)) as string[];
    expect(cmd).toEqual(['worker']);
    const user = lines.find((l) => l.startsWith('USER '))!.split(/\s+/)[1]!;
    expect(user).toMatch(/^[1-9]\d*:\d+$/);
  });
});
