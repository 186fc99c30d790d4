import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseFlags } from '../../../src/config/flags.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../../src/workflows/search-attributes.js';

// No Docker engine or `docker compose` here: these checks keep the files honest against our own code instead.
const read = (p: string) => readFileSync(new URL(`../../../${p}`, import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<
      string,
      { image?: string; command?: string[]; build?: string; environment?: Record<string, string> }
    >;
  };

  it('pins the Temporal CLI image we build and test against, and registers every search attribute', () => {
    const temporal = compose.services['temporal']!;
    expect(temporal.image).toBe('temporalio/temporal:1.5.1');
    const args = temporal.command!.join(' ');
    for (const key of ALL_SEARCH_ATTRIBUTES) expect(args).toContain(`${key.name}=Keyword`);
  });

  it('runs the worker with arguments our CLI accepts', () => {
    const worker = compose.services['worker']!;
    expect(worker.build).toBe('.');
    expect(worker.command![0]).toBe('worker');
    expect(parseFlags(worker.command!.slice(1)).options.cloudConfig).toBe('/etc/slicer-autoscaler/cloud-config.ini');
    expect(worker.environment!['TEMPORAL_ADDRESS']).toBe('temporal:7233');
  });
});

describe('deploy/', () => {
  it('gives the worker RBAC for everything it does: nodes incl. delete, evictions, PDBs, events', () => {
    const docs = parseAllDocuments(read('deploy/rbac.yaml')).map(
      (d) => d.toJSON() as { kind: string; rules?: { resources: string[]; verbs: string[] }[] },
    );
    const rules = docs.find((d) => d.kind === 'ClusterRole')!.rules!;
    const can = (resource: string, verb: string) =>
      rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
    for (const [r, v] of [
      ['nodes', 'delete'],
      ['nodes', 'patch'],
      ['pods', 'watch'],
      ['pods/eviction', 'create'],
      ['poddisruptionbudgets', 'list'],
      ['events', 'create'],
    ]) {
      expect(can(r!, v!), `${v} ${r}`).toBe(true);
    }
  });

  it('runs the worker with arguments our CLI accepts', () => {
    const d = parse(read('deploy/worker.yaml')) as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const args = d.spec.template.spec.containers[0]!.args;
    expect(args[0]).toBe('worker');
    expect(() => parseFlags(args.slice(1))).not.toThrow();
  });
});
