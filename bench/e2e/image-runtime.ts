import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the image's runtime stage gives the worker: `node` options from its ENTRYPOINT and its ENV. */
export interface ImageRuntime {
  nodeOptions: string[];
  env: Record<string, string>;
}

/**
 * Reads the last stage of the project's Dockerfile, so the benchmark's worker runs with the same V8 options and
 * environment as the image (the memory settings live there, and a figure measured without them would not be the
 * product's). Only the forms the Dockerfile uses: one `ENV NAME=VALUE` a line, ENTRYPOINT in JSON form.
 */
export function imageRuntime(root: string): ImageRuntime {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const lastStage = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const m of lastStage.matchAll(/^ENV\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/gm)) env[m[1]!] = m[2]!;
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(lastStage);
  if (!entry) throw new Error('Dockerfile: no ENTRYPOINT in JSON form in the runtime stage');
  const argv = JSON.parse(entry[1]!) as string[];
  const node = argv.indexOf('node');
  const main = argv.indexOf('dist/cli/main.js');
  if (node < 0 || main < node) throw new Error(`Dockerfile: ENTRYPOINT ${entry[1]} does not run node dist/cli/main.js`);
  return { nodeOptions: argv.slice(node + 1, main), env };
}
