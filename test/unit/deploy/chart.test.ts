import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClientConfigProfile } from '@temporalio/envconfig';
import { parseFlags } from '../../../src/config/flags.js';
import {
  helmTemplate,
  parseRendered,
  PLAIN_MANIFEST_DIR,
  renderPlainManifests,
  type RenderedObject,
} from '../../../src/stack/helm.js';
import { loadToolPaths } from '../../../src/stack/tools.js';

// The chart rendered by the real helm binary (`npm run tools` builds it): what it asks the worker to run and what
// it gives it. That the RBAC is enough is proven on the real apiserver in test/integration/chart-rbac.test.ts.
const helm = loadToolPaths().helm;

interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  serviceAccountName: string;
}
const deployment = (objects: RenderedObject[]) =>
  (objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template
    .spec;
const render = (...set: string[]) => parseRendered(helmTemplate(helm, { set }));
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
const rules = (objects: RenderedObject[], kind: string) =>
  (objects.find((o) => o.kind === kind) as unknown as { rules: Rule[] }).rules;

describe('deploy/*.yaml', () => {
  it('are exactly what the chart renders with its defaults (npm run render-manifests)', () => {
    for (const [file, text] of Object.entries(renderPlainManifests(helm)))
      expect(readFileSync(join(PLAIN_MANIFEST_DIR, file), 'utf8'), `deploy/${file}`).toBe(text);
  });
});

describe('the chart with its default values', () => {
  const objects = render();
  const pod = deployment(objects);
  const container = pod.containers[0]!;

  it('runs the worker with arguments our CLI accepts, the cloud-config from the Slicer guide’s Secret', () => {
    expect(container.args[0]).toBe('worker');
    // Every argument is a flag the worker itself knows: nothing passes only because it is tolerated.
    const { options, other, warnings } = parseFlags(container.args.slice(1));
    expect(other).toEqual({});
    expect(warnings).toEqual([]);
    expect(options.cloudConfig).toBe('/etc/slicer/cloud-config');
    expect(options.statusNamespace).toBe('kube-system');
    // What the cluster-autoscaler chart adds to every install: the provider and the release's namespace.
    expect(container.args).toContain('--cloud-provider=slicer');
    expect(container.args).toContain('--namespace=kube-system');
    expect(options).toMatchObject({ cloudProvider: 'slicer', namespace: 'kube-system' });
    // The guide's Secret, key and mount: `kubectl create secret generic cluster-autoscaler-cloud-config
    // --from-file=cloud-config=...` works unchanged.
    const volume = pod.volumes.find((v) => v.secret?.secretName === 'cluster-autoscaler-cloud-config')!;
    expect(volume.secret!.items).toEqual([{ key: 'cloud-config', path: 'cloud-config' }]);
    const mount = container.volumeMounts.find((m) => m.name === volume.name)!;
    expect(join(mount.mountPath, 'cloud-config')).toBe(options.cloudConfig);
    // Probes and metrics on the port the worker serves.
    expect(container.ports).toEqual([{ name: 'http', containerPort: options.healthPort, protocol: 'TCP' }]);
  });

  it('runs as a numeric non-root user, with the ServiceAccount the roles are bound to', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as unknown as {
      subjects: { name: string }[];
    };
    expect(binding.subjects[0]!.name).toBe(pod.serviceAccountName);
  });

  it('grants what the worker does and nothing broader: no secrets, no wildcards, the status ConfigMap by name', () => {
    const cluster = rules(objects, 'ClusterRole');
    const can = (resource: string, verb: string) =>
      cluster.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
    for (const [r, v] of [
      ['nodes', 'delete'],
      ['nodes', 'patch'],
      ['nodes', 'watch'],
      ['pods', 'watch'],
      ['pods/eviction', 'create'],
      ['poddisruptionbudgets', 'list'],
      ['events', 'create'],
    ])
      expect(can(r!, v!), `${v} ${r}`).toBe(true);
    const all = [...cluster, ...rules(objects, 'Role')];
    expect(all.flatMap((r) => [...r.resources, ...r.verbs, ...r.apiGroups])).not.toContain('*');
    expect(all.flatMap((r) => r.resources)).not.toContain('secrets');
    const role = rules(objects, 'Role');
    expect(role.filter((r) => !r.verbs.every((v) => v === 'create'))).toEqual([
      expect.objectContaining({ resourceNames: ['cluster-autoscaler-status'] }),
    ]);
  });

  it('passes Temporal settings under the names the temporal CLI and @temporalio/envconfig read', () => {
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? '']));
    expect(loadClientConfigProfile({ disableFile: true, overrideEnvVars: env })).toMatchObject({
      address: 'temporal-frontend.temporal.svc:7233',
      namespace: 'default',
    });
  });
});

describe('the chart with Temporal TLS, mTLS and an API key', () => {
  const objects = render(
    'temporal.address=ns.acct.tmprl.cloud:7233',
    'temporal.namespace=ns.acct',
    'temporal.tls.secretName=temporal-client',
    'temporal.tls.serverCaCertKey=ca.crt',
    'temporal.tls.clientCertKey=tls.crt',
    'temporal.tls.clientKeyKey=tls.key',
    'temporal.tls.serverName=ns.acct.tmprl.cloud',
    'temporal.apiKey.secretName=temporal-api-key',
  );
  const pod = deployment(objects);
  const container = pod.containers[0]!;

  it('mounts the TLS Secret and names its files in the variables envconfig reads; the API key stays in its Secret', () => {
    const apiKey = container.env.find((e) => e.name === 'TEMPORAL_API_KEY')!;
    expect(apiKey.value).toBeUndefined();
    expect(apiKey.valueFrom).toEqual({ secretKeyRef: { name: 'temporal-api-key', key: 'api-key' } });
    // Resolve the Secret reference as the kubelet would, then read the environment as the worker will.
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? 'the-api-key']));
    const profile = loadClientConfigProfile({ disableFile: true, overrideEnvVars: env });
    expect(profile).toMatchObject({
      address: 'ns.acct.tmprl.cloud:7233',
      namespace: 'ns.acct',
      apiKey: 'the-api-key',
      tls: {
        serverName: 'ns.acct.tmprl.cloud',
        serverCACert: { path: '/etc/temporal/tls/ca.crt' },
        clientCert: { path: '/etc/temporal/tls/tls.crt' },
        clientKey: { path: '/etc/temporal/tls/tls.key' },
      },
    });
    expect(profile.tls?.disabled).not.toBe(true);
    const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/temporal/tls')!;
    expect(pod.volumes.find((v) => v.name === mount.name)!.secret!.secretName).toBe('temporal-client');
  });

  it('refuses half an mTLS setup, naming the value to set', () => {
    expect(() => render('temporal.tls.secretName=s', 'temporal.tls.clientCertKey=tls.crt')).toThrow(
      /clientCertKey and clientKeyKey/,
    );
    expect(() => render('temporal.tls.clientCertKey=a', 'temporal.tls.clientKeyKey=b')).toThrow(
      /set temporal.tls.secretName/,
    );
  });
});

describe('values', () => {
  it('are checked against the schema: an unknown key is named', () => {
    expect(() => render('autoDiscovery.clusterName=k3s-slicer')).toThrow(/autoDiscovery/);
    expect(() => render('temporal.adress=x:7233')).toThrow(/adress/);
    expect(() => render('cloudProvider=aws')).toThrow(/cloudProvider/);
  });

  it('render extraArgs as the cluster-autoscaler chart does, and one given there replaces our default', () => {
    // A file, not --set: `--set x=null` deletes the key, while a values file keeps it as a bare flag.
    const file = join(mkdtempSync(join(tmpdir(), 'chart-')), 'values.yaml');
    writeFileSync(
      file,
      [
        'extraArgs:',
        '  cloud-config: /etc/other/cloud-config',
        '  namespace: autoscaler',
        '  scale-down-unneeded-time: 30s',
        '  balance-similar-node-groups:',
        '',
      ].join('\n'),
    );
    const container = deployment(parseRendered(helmTemplate(helm, { valuesFiles: [file] }))).containers[0]!;
    expect(container.args.filter((a) => a.startsWith('--cloud-config'))).toEqual([
      '--cloud-config=/etc/other/cloud-config',
    ]);
    expect(container.args.filter((a) => a.startsWith('--namespace'))).toEqual(['--namespace=autoscaler']);
    expect(container.args).toContain('--scale-down-unneeded-time=30s');
    expect(container.args).toContain('--balance-similar-node-groups');
  });

  it('put the status Role in the status namespace and the ServiceMonitor behind its toggle', () => {
    const objects = render('statusNamespace=autoscaler-status', 'metrics.serviceMonitor.enabled=true');
    expect(objects.find((o) => o.kind === 'Role')!.metadata.namespace).toBe('autoscaler-status');
    expect(objects.find((o) => o.kind === 'RoleBinding')!.metadata.namespace).toBe('autoscaler-status');
    expect(deployment(objects).containers[0]!.args).toContain('--status-namespace=autoscaler-status');
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as unknown as {
      spec: { endpoints: { port: string; path: string }[] };
    };
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(render().some((o) => o.kind === 'ServiceMonitor')).toBe(false);
  });
});
