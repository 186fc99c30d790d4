import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Our chart, from which `deploy/*.yaml` are rendered. */
export const CHART_DIR = join(projectRoot, 'deploy', 'helm', 'slicer-autoscaler');

/** The release name and namespace of the plain manifests: the Slicer guide's namespace. */
export const PLAIN_RELEASE = { name: 'slicer-autoscaler', namespace: 'kube-system' } as const;

export interface HelmTemplateOptions {
  release?: string;
  namespace?: string;
  /** `-f` files, in order. */
  valuesFiles?: string[];
  /** `--set` expressions. */
  set?: string[];
}

/** `helm template` of our chart; throws with helm's own message (schema and `fail` errors name the value). */
export function helmTemplate(helm: string, opts: HelmTemplateOptions = {}): string {
  const args = ['template', opts.release ?? PLAIN_RELEASE.name, CHART_DIR];
  args.push('--namespace', opts.namespace ?? PLAIN_RELEASE.namespace);
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  try {
    return execFileSync(helm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`helm template failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** A rendered object with what tests look at most. */
export interface RenderedObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

/** Parses `helm template` output into objects (empty documents dropped). */
export function parseRendered(yamlText: string): RenderedObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null && typeof o === 'object' && 'kind' in o);
}

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

const HEADER = (what: string) =>
  [
    `# ${what}, rendered from deploy/helm/slicer-autoscaler with its default values`,
    `# (release ${PLAIN_RELEASE.name}, namespace ${PLAIN_RELEASE.namespace}) by \`npm run render-manifests\`.`,
    '# Edit the chart, not this file: a unit test fails when the two differ.',
    '',
  ].join('\n');

/**
 * The plain manifests in deploy/: `rbac.yaml` (ServiceAccount and roles) and `worker.yaml` (everything else), each
 * the chart's own documents in helm's order, so `kubectl apply -f deploy/` installs exactly what the chart does.
 */
export function renderPlainManifests(helm: string): Record<'rbac.yaml' | 'worker.yaml', string> {
  const out = helmTemplate(helm);
  const rbac: string[] = [];
  const worker: string[] = [];
  for (const doc of out.split(/^---\s*$/m)) {
    const text = doc.trim();
    if (!text) continue;
    const kind = /^kind:\s*(\S+)/m.exec(text)?.[1];
    if (!kind) continue;
    (RBAC_KINDS.has(kind) ? rbac : worker).push(text);
  }
  const join = (docs: string[]) => docs.map((d) => `---\n${d}\n`).join('');
  return {
    'rbac.yaml': HEADER('What the worker may do in the cluster') + join(rbac),
    'worker.yaml': HEADER('The worker Deployment and its metrics Service') + join(worker),
  };
}

/** Where the plain manifests live. */
export const PLAIN_MANIFEST_DIR = join(projectRoot, 'deploy');
