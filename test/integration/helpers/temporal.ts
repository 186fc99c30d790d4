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
import { joinsTaskQueue } from '../../../src/shared/ids.js';

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

/** A worker on a test's task queue plus one on its joins queue, run together like the product's worker. */
export interface TestWorker {
  runUntil<T>(until: Promise<T> | (() => Promise<T>)): Promise<T>;
}

/** A client and worker factory on the stack's Temporal server, each test on its own task queue. */
export async function temporalHarness(): Promise<{
  client: Client;
  taskQueue: string;
  worker(activities: WorkerOptions['activities']): Promise<TestWorker>;
  close(): Promise<void>;
}> {
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  return {
    client: new Client({ connection }),
    taskQueue,
    worker: async (activities) => {
      const main = await Worker.create({
        connection: native,
        taskQueue,
        workflowBundle: await productionWorkflowBundle(),
        activities,
        maxHeartbeatThrottleInterval: '1 second',
      });
      // Scale-ups wait for joins on `<queue>/joins`, served by the same activities here.
      const joins = await Worker.create({
        connection: native,
        taskQueue: joinsTaskQueue(taskQueue),
        activities,
        maxHeartbeatThrottleInterval: '1 second',
      });
      return {
        runUntil: (until) => main.runUntil(joins.runUntil(typeof until === 'function' ? until() : until)),
      };
    },
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
