import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDockerfile } from '../../src/build/dockerfile.js';

/** What the image's runtime stage gives the worker: `node` options from its ENTRYPOINT and its ENV. */
export interface ImageRuntime {
  nodeOptions: string[];
  env: Record<string, string>;
}

/**
 * Reads the last stage of the project's Dockerfile, so the benchmark's worker runs with the same V8 options and
 * environment as the image (the memory settings live there, and a figure measured without them would not be the
 * product's). ENV as `NAME=VALUE`, ENTRYPOINT in JSON form, as the Dockerfile writes them.
 */
export function imageRuntime(root: string): ImageRuntime {
  const runtime = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')).at(-1);
  const env: Record<string, string> = {};
  for (const step of runtime?.steps ?? []) {
    const eq = step.args.indexOf('=');
    if (step.op === 'ENV' && eq > 0) env[step.args.slice(0, eq)] = step.args.slice(eq + 1);
  }
  const entry = runtime?.steps.find((s) => s.op === 'ENTRYPOINT')?.args;
  if (!entry?.startsWith('[')) throw new Error('Dockerfile: no ENTRYPOINT in JSON form in the runtime stage');
  const argv = JSON.parse(entry) as string[];
  const node = argv.indexOf('node');
  const main = argv.indexOf('dist/cli/main.js');
  if (node < 0 || main < node) throw new Error(`Dockerfile: ENTRYPOINT ${entry} does not run node dist/cli/main.js`);
  return { nodeOptions: argv.slice(node + 1, main), env };
}
