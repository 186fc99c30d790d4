import type { TestProject } from 'vitest/node';
import { startStack, stopStack } from '../../src/stack/stack.js';

// One real stack per test run: a Temporal dev server and a Kubernetes control plane with KWOK on 127.0.0.1.
// Missing tools fail the run loudly instead of skipping: these tests are the proof that the stack is real.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const info = await startStack({ log: (line) => console.log(line) });
  console.log(`[stack] ready in ${info.startedInMs} ms; Temporal UI ${info.temporalUiUrl}`);
  project.provide('temporalAddress', info.temporalAddress);
  project.provide('kubeconfigPath', info.kubeconfigPath);
  project.provide('stackDir', info.stateDir);
  return async () => {
    await stopStack(info.stateDir);
  };
}
