import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Explanation } from '../workflows/evaluator-state.js';
import { autoscalerWorkflowId } from '../shared/ids.js';
import {
  drainNodeUpdate,
  explainQuery,
  holdUpdate,
  pauseUpdate,
  planQuery,
  resumeUpdate,
  scaleGroupUpdate,
  statusQuery,
} from '../workflows/messages.js';

/** Where the operator CLI finds the evaluator; flags override the environment. */
export interface OperatorTarget {
  address: string;
  namespace: string;
  cluster: string;
}

export function operatorTarget(flags: Partial<OperatorTarget>): OperatorTarget {
  return {
    address: flags.address ?? process.env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233',
    namespace: flags.namespace ?? process.env['TEMPORAL_NAMESPACE'] ?? 'default',
    cluster: flags.cluster ?? process.env['SLICER_AUTOSCALER_CLUSTER'] ?? 'default',
  };
}

type Out = (line: string) => void;

/** The operator verbs: each is an update or query on the evaluator `autoscaler/<cluster>`. */
export const OPERATOR_VERBS = [
  'status',
  'plan',
  'explain',
  'pause',
  'resume',
  'scale',
  'drain',
  'hold',
  'release',
] as const;
export type OperatorVerb = (typeof OPERATOR_VERBS)[number];

export interface OperatorArgs {
  positionals: string[];
  reason?: string;
  forSeconds?: number;
  group?: string;
}

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Runs one operator verb. Exit code 0 on success, 1 when the evaluator refused or cannot explain. */
export async function runOperatorCommand(
  verb: OperatorVerb,
  args: OperatorArgs,
  target: OperatorTarget,
  out: Out = console.log,
): Promise<number> {
  const connection = await Connection.connect({ address: target.address, connectTimeout: 5000 });
  try {
    const client = new Client({ connection, namespace: target.namespace });
    const handle = client.workflow.getHandle(autoscalerWorkflowId(target.cluster));
    const [first, second] = args.positionals;
    const need = (value: string | undefined, what: string): string => {
      if (!value) throw new UsageError(`${verb} needs ${what}`);
      return value;
    };
    switch (verb) {
      case 'status':
        out(JSON.stringify(await handle.query(statusQuery), null, 2));
        return 0;
      case 'plan':
        out(JSON.stringify(await handle.query(planQuery), null, 2));
        return 0;
      case 'explain': {
        const subject = need(first, 'a pod (namespace/name) or a node name');
        let answer = await handle.query(explainQuery, subject.includes('/') ? { pod: subject } : { node: subject });
        if (!answer.found && !subject.includes('/')) {
          const asPod = await handle.query(explainQuery, { pod: `default/${subject}` });
          if (asPod.found) answer = asPod;
        }
        return printExplanation(answer, out);
      }
      case 'pause':
        await handle.executeUpdate(pauseUpdate, {
          args: [{ group: args.group, reason: args.reason ?? '', forSeconds: args.forSeconds }],
        });
        out(args.group ? `paused ${args.group}` : 'paused');
        return 0;
      case 'resume':
        await handle.executeUpdate(resumeUpdate, { args: [{ group: args.group }] });
        out(args.group ? `resumed ${args.group}` : 'resumed');
        return 0;
      case 'scale': {
        const group = need(first, 'a group: scale GROUP SIZE');
        const size = Number(need(second, 'a size: scale GROUP SIZE'));
        if (!Number.isInteger(size) || size < 0)
          throw new UsageError(`scale: size must be a whole number >= 0, got '${second}'`);
        const res = await handle.executeUpdate(scaleGroupUpdate, { args: [{ group, size, reason: args.reason }] });
        out(res.message);
        for (const id of res.started) out(`  started ${id}`);
        return 0;
      }
      case 'drain': {
        const res = await handle.executeUpdate(drainNodeUpdate, {
          args: [{ node: need(first, 'a node name'), reason: args.reason }],
        });
        out(`draining: ${res.workflowId}`);
        return 0;
      }
      case 'hold':
      case 'release': {
        const node = need(first, 'a node name');
        await handle.executeUpdate(holdUpdate, {
          args: [
            { node, reason: args.reason ?? 'operator hold', forSeconds: args.forSeconds, release: verb === 'release' },
          ],
        });
        out(verb === 'hold' ? `holding ${node}` : `released ${node}`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      out(`refused: ${err.cause?.message ?? err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await connection.close();
  }
}

function printExplanation(answer: Explanation, out: Out): number {
  if (!answer.found) {
    out(`${answer.subject}: ${answer.message}`);
    return 1;
  }
  const v = answer.verdict;
  out(`${answer.subject}: ${v.kind} (${v.reason})${v.group ? `, group ${v.group}` : ''}`);
  out(`  ${v.message}`);
  out(`  as of the evaluation at ${new Date(answer.evaluatedAt).toISOString()}`);
  return 0;
}
