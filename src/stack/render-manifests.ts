// `npm run render-manifests`: writes deploy/rbac.yaml and deploy/worker.yaml from the chart, so the plain manifests
// never drift from it. `--check` only compares and exits 1 naming the stale file.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAIN_MANIFEST_DIR, renderPlainManifests } from './helm.js';
import { loadToolPaths } from './tools.js';

function main(): number {
  const check = process.argv.includes('--check');
  const rendered = renderPlainManifests(loadToolPaths().helm);
  let stale = 0;
  for (const [file, text] of Object.entries(rendered)) {
    const path = join(PLAIN_MANIFEST_DIR, file);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (current === text) continue;
    if (check) {
      console.error(`deploy/${file} differs from the chart: run 'npm run render-manifests'`);
      stale += 1;
    } else {
      writeFileSync(path, text);
      console.log(`wrote deploy/${file}`);
    }
  }
  return stale ? 1 : 0;
}

process.exitCode = main();
