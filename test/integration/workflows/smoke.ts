import { proxyActivities, sleep } from '@temporalio/workflow';

const { echo } = proxyActivities<{ echo(text: string): Promise<string> }>({ startToCloseTimeout: '10 seconds' });

/** Proves a worker runs workflow code with a timer and an activity against the dev server. */
export async function smokeWorkflow(text: string): Promise<string> {
  await sleep('50 ms');
  return `workflow saw: ${await echo(text)}`;
}
