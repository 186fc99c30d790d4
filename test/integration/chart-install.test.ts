import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { parseFlags } from '../../src/config/flags.js';
import { CHART_DIR, helmTemplate, parseRendered } from '../../src/stack/helm.js';
import { loadToolPaths } from '../../src/stack/tools.js';
import { kubectl } from './helpers/kubectl.js';

// What CI checks of the chart against the real apiserver: `helm lint`, `helm template`, and a server-side dry run of
// everything it renders (schema, defaulting and admission as a real install would meet them). And the migration
// promise: the Slicer guide's values, translated by the diff in docs/migrate.md, install our chart.

const execFileAsync = promisify(execFile);
const helm = loadToolPaths().helm;

/** The Slicer guide's values-slicer.yaml (docs.slicervm.com, examples/autoscaling-k3s, "Deploy Cluster Autoscaler"). */
const GUIDE_VALUES = {
  fullnameOverride: 'slicer-cluster-autoscaler',
  image: { repository: 'docker.io/openfaasltd/cluster-autoscaler-slicer', tag: 'latest' },
  cloudProvider: 'slicer',
  autoDiscovery: { clusterName: 'k3s-slicer' },
  extraVolumeSecrets: {
    'cluster-autoscaler-cloud-config': {
      name: 'cluster-autoscaler-cloud-config',
      mountPath: '/etc/slicer/',
      items: [{ key: 'cloud-config', path: 'cloud-config' }],
    },
  },
  extraArgs: {
    'cloud-config': '/etc/slicer/cloud-config',
    logtostderr: true,
    stderrthreshold: 'info',
    v: 4,
    'scale-down-enabled': true,
    'scale-down-delay-after-add': '30s',
    'scale-down-unneeded-time': '30s',
    'expendable-pods-priority-cutoff': -10,
    expander: 'random',
  },
};

/** Both sides of the first ```diff block in a markdown file: [before, after]. */
function diffSides(markdown: string): [string, string] {
  const block = /```diff\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (!block) throw new Error('no ```diff block');
  const before: string[] = [];
  const after: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '') continue;
    const [mark, rest] = [line[0], line.slice(1)];
    if (mark === ' ' || mark === '-') before.push(rest);
    if (mark === ' ' || mark === '+') after.push(rest);
    if (mark !== ' ' && mark !== '-' && mark !== '+') throw new Error(`not a diff line: ${line}`);
  }
  return [before.join('\n') + '\n', after.join('\n') + '\n'];
}

function scratch(name: string, text: string): string {
  const dir = join(inject('stackDir'), 'chart-install');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const dryRun = (yamlText: string) => kubectl(['apply', '--dry-run=server', '-f', '-'], yamlText);

describe('the chart on the real apiserver', () => {
  it('passes helm lint --strict', async () => {
    const { stdout } = await execFileAsync(helm, ['lint', '--strict', CHART_DIR]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('installs with its defaults: a server-side dry run accepts every object', async () => {
    const rendered = helmTemplate(helm);
    const kinds = parseRendered(rendered).map((o) => o.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']),
    );
    expect(kinds).toEqual(expect.arrayContaining(['Deployment', 'Service']));
    const out = await dryRun(rendered);
    // One line per object, each accepted by the apiserver (not just parsed by kubectl).
    expect(out.trim().split('\n')).toHaveLength(kinds.length);
    expect(out).toMatch(/deployment\.apps\/slicer-autoscaler (created|configured|unchanged) \(server dry run\)/);
  });

  it('installs for Temporal Cloud with mTLS and an API key from Secrets, status in another namespace', async () => {
    const rendered = helmTemplate(helm, {
      set: [
        'temporal.address=ns.acct.tmprl.cloud:7233',
        'temporal.namespace=ns.acct',
        'temporal.tls.secretName=temporal-client',
        'temporal.tls.clientCertKey=tls.crt',
        'temporal.tls.clientKeyKey=tls.key',
        'temporal.apiKey.secretName=temporal-api-key',
        'statusNamespace=default',
        'replicaCount=1',
      ],
    });
    await expect(dryRun(rendered)).resolves.toMatch(/role\.rbac\.authorization\.k8s\.io\/slicer-autoscaler/);
  });

  it('refuses a broken value at the apiserver too (the dry run is not a rubber stamp)', async () => {
    // A volume name must be a DNS label; helm renders it, the apiserver refuses it.
    const rendered = helmTemplate(helm, {
      set: ['extraVolumeSecrets.Bad_Volume.name=other-secret', 'extraVolumeSecrets.Bad_Volume.mountPath=/etc/other'],
    });
    await expect(dryRun(rendered)).rejects.toThrow(/Bad_Volume/);
  });
});

describe('docs/migrate.md', () => {
  const markdown = readFileSync(new URL('../../docs/migrate.md', import.meta.url), 'utf8');
  const [before, after] = diffSides(markdown);

  it("starts its diff from the Slicer guide's values, which our chart alone refuses for autoDiscovery", () => {
    expect(parse(before)).toEqual(GUIDE_VALUES);
    expect(() => helmTemplate(helm, { valuesFiles: [scratch('guide-values.yaml', before)] })).toThrow(/autoDiscovery/);
  });

  it('turns them into values that install our chart (helm template, then a server-side dry run)', async () => {
    const file = scratch('translated-values.yaml', after);
    const { stdout } = await execFileAsync(helm, ['lint', '--strict', CHART_DIR, '-f', file]);
    expect(stdout).toMatch(/0 chart\(s\) failed/);
    const rendered = helmTemplate(helm, { release: 'slicer-cluster-autoscaler', valuesFiles: [file] });
    const out = await dryRun(rendered);
    expect(out).toMatch(
      /deployment\.apps\/slicer-cluster-autoscaler (created|configured|unchanged) \(server dry run\)/,
    );

    // The worker gets the guide's flags, each one our CLI takes, the cloud-config once, from the guide's Secret.
    const deployment = parseRendered(rendered).find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { args: string[]; image: string }[] } } };
    };
    const { args, image } = deployment.spec.template.spec.containers[0]!;
    expect(image).toBe('ghcr.io/slicer-autoscaler/slicer-autoscaler:0.1.0');
    expect(args[0]).toBe('worker');
    for (const [flag, value] of Object.entries(GUIDE_VALUES.extraArgs))
      expect(args).toContain(`--${flag}=${String(value)}`);
    expect(args.filter((a) => a.startsWith('--cloud-config'))).toHaveLength(1);
    // And what the cluster-autoscaler chart adds to every install, as it does.
    expect(args).toContain('--cloud-provider=slicer');
    expect(args).toContain('--namespace=kube-system');
    // Every argument, klog's included, is one the worker takes: none is left out of this check.
    const { options, other, warnings } = parseFlags(args.slice(1));
    expect(other).toEqual({});
    expect(warnings).toEqual([]);
    expect(options).toMatchObject({
      cloudProvider: 'slicer',
      namespace: 'kube-system',
      verbosity: 4,
      cloudConfig: '/etc/slicer/cloud-config',
      scaleDownEnabled: true,
      scaleDownDelayAfterAddMs: 30_000,
      scaleDownUnneededTimeMs: 30_000,
      expendablePodsPriorityCutoff: -10,
      expander: 'random',
    });
  });
});
