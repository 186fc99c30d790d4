import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type WorkerOptions,
} from '@temporalio/worker';
import { inject } from 'vitest';

// Workers log every state change at INFO; tests only want warnings.
Runtime.install({ logger: new DefaultLogger('WARN') });

let bundle: Promise<{ code: string }> | undefined;

/** Our production workflows, bundled once per test file. */
export function productionWorkflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../../src/workflows/index.ts', import.meta.url)),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    },
  });
  return bundle;
}

/** A client and worker factory on the stack's Temporal server, each test on its own task queue. */
export async function temporalHarness(): Promise<{
  client: Client;
  taskQueue: string;
  worker(activities: WorkerOptions['activities']): Promise<Worker>;
  close(): Promise<void>;
}> {
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  return {
    client: new Client({ connection }),
    taskQueue,
    worker: async (activities) =>
      Worker.create({ connection: native, taskQueue, workflowBundle: await productionWorkflowBundle(), activities }),
    close: async () => {
      await connection.close();
      await native.close();
    },
  };
}

/** Replays a finished workflow's history against today's bundle: a nondeterministic change fails here. */
export async function expectDeterministicReplay(client: Client, workflowId: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await productionWorkflowBundle() }, history, workflowId);
}
