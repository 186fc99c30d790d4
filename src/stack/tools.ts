import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** Where `npm run tools` caches the binaries; outside the work tree so clean checkouts reuse them. */
export function toolsDir(): string {
  const explicit = process.env['SLICER_AUTOSCALER_TOOLS'];
  if (explicit) return explicit;
  const cache = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(cache, 'slicer-autoscaler', 'tools');
}

const ManifestSchema = z.object({
  temporal: z.string(),
  etcd: z.string(),
  kubeApiserver: z.string(),
  kubeControllerManager: z.string(),
  kubeScheduler: z.string(),
  kubectl: z.string(),
  kwok: z.string(),
  kwokStages: z.string(),
  /** Renders and lints the chart in deploy/helm/ (tests, `npm run render-manifests`). */
  helm: z.string(),
});

/** Absolute paths of every binary the local stack and the chart tests run. */
export type ToolPaths = z.infer<typeof ManifestSchema>;

/** Reads the manifest `npm run tools` writes, and checks that every binary it names exists. */
export function loadToolPaths(dir = toolsDir()): ToolPaths {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new Error(`No tools manifest at ${manifestPath}: run 'npm run tools' first (a cold build takes ~30 min).`);
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `Tools manifest ${manifestPath} is malformed (${parsed.error.issues[0]?.message}): re-run 'npm run tools'.`,
    );
  }
  for (const [name, path] of Object.entries(parsed.data)) {
    if (!existsSync(path)) throw new Error(`Tool '${name}' is missing at ${path}: re-run 'npm run tools'.`);
  }
  return parsed.data;
}
