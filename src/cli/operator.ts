import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
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

/** One operator command, checked: what runOperatorCommand sends to the evaluator. */
export type OperatorRequest =
  | { verb: 'status' }
  | { verb: 'plan' }
  | { verb: 'explain'; subject: string }
  | { verb: 'pause'; group?: string; reason: string; forSeconds?: number }
  | { verb: 'resume'; group?: string }
  | { verb: 'scale'; group: string; size: number; reason?: string }
  | { verb: 'drain'; node: string; reason?: string }
  | { verb: 'hold'; node: string; reason: string; forSeconds?: number }
  | { verb: 'release'; node: string };

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {}

type OptionalFlag = 'group' | 'reason' | 'for';
const VERBS: Record<OperatorVerb, { usage: string; args: string[]; flags: OptionalFlag[] }> = {
  status: { usage: 'status', args: [], flags: [] },
  plan: { usage: 'plan', args: [], flags: [] },
  explain: { usage: 'explain POD|NODE', args: ['POD|NODE'], flags: [] },
  pause: { usage: 'pause [--group G] --reason R [--for S]', args: [], flags: ['group', 'reason', 'for'] },
  resume: { usage: 'resume [--group G]', args: [], flags: ['group'] },
  scale: { usage: 'scale GROUP SIZE [--reason R]', args: ['GROUP', 'SIZE'], flags: ['reason'] },
  drain: { usage: 'drain NODE [--reason R]', args: ['NODE'], flags: ['reason'] },
  hold: { usage: 'hold NODE [--reason R] [--for S]', args: ['NODE'], flags: ['reason', 'for'] },
  release: { usage: 'release NODE', args: ['NODE'], flags: [] },
};
/** The evaluator's own bounds (messages.ts), checked here so a mistake never costs a connection. */
const MAX_REASON = 500;
const MAX_PAUSE_SECONDS = 7 * 24 * 3600;

/** Checks a verb's arguments before anything connects; throws UsageError naming the argument and the usage. */
export function checkOperatorArgs(verb: OperatorVerb, args: OperatorArgs): OperatorRequest {
  const spec = VERBS[verb];
  const usage = `usage: slicer-autoscaler ${spec.usage}`;
  const missing = spec.args.slice(args.positionals.length);
  if (missing.length) throw new UsageError(`${verb} needs ${missing.join(' and ')}; ${usage}`);
  const extra = args.positionals[spec.args.length];
  if (extra !== undefined) throw new UsageError(`${verb}: unexpected argument '${extra}'; ${usage}`);
  for (const flag of ['group', 'reason', 'for'] as const) {
    const given = flag === 'for' ? args.forSeconds !== undefined : args[flag] !== undefined;
    if (given && !spec.flags.includes(flag)) throw new UsageError(`${verb} takes no --${flag}; ${usage}`);
  }
  if (args.reason !== undefined && (args.reason.trim() === '' || args.reason.length > MAX_REASON))
    throw new UsageError(`--reason: say why in 1 to ${MAX_REASON} characters, like --reason "maintenance window"`);
  if (args.group !== undefined && args.group.trim() === '') throw new UsageError('--group: give a node group name');
  if (args.forSeconds !== undefined && (args.forSeconds <= 0 || args.forSeconds > MAX_PAUSE_SECONDS))
    throw new UsageError(`--for: expected more than 0 and at most ${MAX_PAUSE_SECONDS} seconds (7 days)`);
  const [first = '', second = ''] = args.positionals;
  if (spec.args.length > 0 && first.trim() === '') throw new UsageError(`${verb}: ${spec.args[0]} is empty; ${usage}`);
  switch (verb) {
    case 'status':
    case 'plan':
      return { verb };
    case 'explain':
      return { verb, subject: first };
    case 'pause':
      if (args.reason === undefined)
        throw new UsageError(`pause needs --reason R, saying why (e.g. "maintenance window"); ${usage}`);
      return { verb, group: args.group, reason: args.reason, forSeconds: args.forSeconds };
    case 'resume':
      return { verb, group: args.group };
    case 'scale':
      if (!/^\d{1,6}$/.test(second))
        throw new UsageError(`scale: SIZE must be a whole number 0 or more, got '${second}'; ${usage}`);
      return { verb, group: first, size: Number(second), reason: args.reason };
    case 'drain':
      return { verb, node: first, reason: args.reason };
    case 'hold':
      return { verb, node: first, reason: args.reason ?? 'operator hold', forSeconds: args.forSeconds };
    case 'release':
      return { verb, node: first };
  }
}

/** Temporal could not be reached: the message names the address and how to change it. */
export class TemporalConnectError extends Error {}

/**
 * The operator CLI's one Temporal connection. Kept in one small function so the connection settings (today the
 * address flag or TEMPORAL_ADDRESS) can move to @temporalio/envconfig without touching the commands.
 */
export async function connectTemporal(target: OperatorTarget): Promise<Connection> {
  try {
    return await Connection.connect({ address: target.address, connectTimeout: 5000 });
  } catch (err) {
    throw new TemporalConnectError(
      `cannot connect to Temporal at ${target.address}: ${(err as Error).message}; set --address or TEMPORAL_ADDRESS`,
      { cause: err },
    );
  }
}

/**
 * Runs one operator verb: its arguments are checked before anything connects. Exit code 0 on success, 1 when
 * the evaluator refused or cannot explain.
 */
export async function runOperatorCommand(
  verb: OperatorVerb,
  args: OperatorArgs,
  target: OperatorTarget,
  out: Out = console.log,
): Promise<number> {
  return executeOperatorRequest(checkOperatorArgs(verb, args), target, out);
}

/** Sends one checked request to the evaluator `autoscaler/<cluster>`. */
export async function executeOperatorRequest(
  request: OperatorRequest,
  target: OperatorTarget,
  out: Out = console.log,
): Promise<number> {
  const connection = await connectTemporal(target);
  try {
    const client = new Client({ connection, namespace: target.namespace });
    const handle = client.workflow.getHandle(autoscalerWorkflowId(target.cluster));
    switch (request.verb) {
      case 'status':
        out(JSON.stringify(await handle.query(statusQuery), null, 2));
        return 0;
      case 'plan':
        out(JSON.stringify(await handle.query(planQuery), null, 2));
        return 0;
      case 'explain': {
        const subject = request.subject;
        let answer = await handle.query(explainQuery, subject.includes('/') ? { pod: subject } : { node: subject });
        if (!answer.found && !subject.includes('/')) {
          const asPod = await handle.query(explainQuery, { pod: `default/${subject}` });
          if (asPod.found) answer = asPod;
        }
        return printExplanation(answer, out);
      }
      case 'pause':
        await handle.executeUpdate(pauseUpdate, {
          args: [{ group: request.group, reason: request.reason, forSeconds: request.forSeconds }],
        });
        out(request.group ? `paused ${request.group}` : 'paused');
        return 0;
      case 'resume':
        await handle.executeUpdate(resumeUpdate, { args: [{ group: request.group }] });
        out(request.group ? `resumed ${request.group}` : 'resumed');
        return 0;
      case 'scale': {
        const res = await handle.executeUpdate(scaleGroupUpdate, {
          args: [{ group: request.group, size: request.size, reason: request.reason }],
        });
        out(res.message);
        for (const id of res.started) out(`  started ${id}`);
        return 0;
      }
      case 'drain': {
        const res = await handle.executeUpdate(drainNodeUpdate, {
          args: [{ node: request.node, reason: request.reason }],
        });
        out(`draining: ${res.workflowId}`);
        return 0;
      }
      case 'hold':
      case 'release': {
        await handle.executeUpdate(holdUpdate, {
          args: [
            request.verb === 'hold'
              ? { node: request.node, reason: request.reason, forSeconds: request.forSeconds }
              : { node: request.node, reason: 'operator release', release: true },
          ],
        });
        out(request.verb === 'hold' ? `holding ${request.node}` : `released ${request.node}`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      out(`refused: ${err.cause?.message ?? err.message}`);
      return 1;
    }
    if (err instanceof WorkflowNotFoundError)
      throw new Error(
        `no evaluator ${autoscalerWorkflowId(target.cluster)} in Temporal namespace ${target.namespace} at ${target.address}; is a worker running for this cluster? (--cluster, SLICER_AUTOSCALER_CLUSTER)`,
        { cause: err },
      );
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
