// Pre-bundles the workflow code at build time, so production workers start without running webpack.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the worker looks for a prebuilt bundle (next to the compiled code). */
export const WORKFLOW_BUNDLE_PATH = join(here, '..', 'workflow-bundle.js');

async function main(): Promise<void> {
  const workflowsPath = join(here, '..', 'workflows', 'index.js');
  // The worker's operation metrics and events come from this interceptor; a bundle without it still runs, silently.
  const workflowInterceptorModules = [join(here, '..', 'metrics', 'workflow-interceptors.js')];
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  console.log(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
