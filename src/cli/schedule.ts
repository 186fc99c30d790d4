import { parseArgs } from 'node:util';
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { autoscalerWorkflowId, taskQueueFor } from '../shared/ids.js';
import { statusQuery } from '../workflows/messages.js';
import { AutoscalerClusterKey } from '../workflows/search-attributes.js';
import type { ScheduledAction } from '../workflows/scheduled-action.js';
import { limitBreach } from '../workflows/steering.js';
import { connectTemporal, operatorTarget, UsageError, type OperatorTarget } from './operator.js';
import { schedulePrefix, scheduleRequest, type ScheduleRequest } from './schedule-input.js';

// `slicer-autoscaler schedule add|list|remove`: Temporal Schedules whose action is scheduledActionWorkflow, so a
// nightly pause or a scale-to-zero window is visible (and pausable) in the Temporal UI under Schedules.

type Out = (line: string) => void;

/** How long `add` waits for the evaluator to answer its limit check before leaving the check to the evaluator. */
const LIMIT_CHECK_TIMEOUT_MS = 5000;
/** A schedule that fires while Temporal is down runs late only within this window; older firings are skipped. */
const CATCHUP_WINDOW = '5 minutes';

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The group limits as the evaluator knows them; a request that breaks them is refused before a schedule exists. */
async function checkLimits(client: Client, target: OperatorTarget, req: ScheduleRequest, out: Out): Promise<void> {
  if (req.action.kind === 'pause' && !req.action.group) return;
  const group = req.action.group!;
  const status = await withTimeout(
    client.workflow.getHandle(autoscalerWorkflowId(target.cluster)).query(statusQuery),
    LIMIT_CHECK_TIMEOUT_MS,
  ).catch(() => undefined);
  if (!status || Object.keys(status.groups).length === 0) {
    out(`note: the evaluator of ${target.cluster} did not answer; it checks ${group} when the schedule fires`);
    return;
  }
  const view = status.groups[group];
  if (!view)
    throw new UsageError(
      `unknown node group '${group}'; configured groups: ${Object.keys(status.groups).join(', ') || '(none)'}`,
    );
  if (req.action.kind === 'scale') {
    const breach = limitBreach(group, req.action.size, view);
    if (breach) throw new UsageError(`--scale ${breach}; the evaluator would refuse it`);
  }
}

async function add(client: Client, target: OperatorTarget, argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cron: { type: 'string' },
      pause: { type: 'string' },
      scale: { type: 'string' },
      for: { type: 'string' },
      group: { type: 'string' },
      timezone: { type: 'string' },
      id: { type: 'string' },
      reason: { type: 'string' },
      address: { type: 'string' },
      namespace: { type: 'string' },
      cluster: { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`schedule add takes flags only, got '${positionals.join(' ')}'`);
  let req: ScheduleRequest;
  try {
    req = scheduleRequest(target.cluster, values);
  } catch (err) {
    throw new UsageError(`schedule add: ${(err as Error).message}`);
  }
  await checkLimits(client, target, req, out);
  try {
    await client.schedule.create({
      scheduleId: req.scheduleId,
      spec: { cronExpressions: [req.cron], timezone: req.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledActionWorkflow',
        taskQueue: taskQueueFor(target.cluster),
        // The schedule appends the firing time, so every run has its own ID.
        workflowId: `scheduled/${target.cluster}/${req.scheduleId.slice(schedulePrefix(target.cluster).length)}`,
        args: [req.action satisfies ScheduledAction],
        typedSearchAttributes: [{ key: AutoscalerClusterKey, value: target.cluster }],
        staticSummary: req.description,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW },
      memo: { description: req.description },
      state: { note: `slicer-autoscaler: ${req.description}` },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw new UsageError(`schedule ${req.scheduleId} already exists; remove it first or pass --id NAME`);
    throw err;
  }
  out(`added ${req.scheduleId}: ${req.description}`);
  return 0;
}

async function list(client: Client, target: OperatorTarget, out: Out): Promise<number> {
  const prefix = schedulePrefix(target.cluster);
  const rows: string[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(prefix)) continue;
    const description = (s.memo?.['description'] as string | undefined) ?? '';
    const next = s.info.nextActionTimes[0]?.toISOString() ?? 'never';
    const last = s.info.recentActions.at(-1);
    rows.push(
      `${s.scheduleId}  ${description}  next ${next}${last ? `  last ${last.takenAt.toISOString()} (${last.action.workflow.workflowId})` : ''}${s.state.paused ? '  [paused in Temporal]' : ''}`,
    );
  }
  if (rows.length === 0) out(`no schedules for cluster ${target.cluster}`);
  for (const r of rows) out(r);
  return 0;
}

async function remove(client: Client, target: OperatorTarget, argv: string[], out: Out): Promise<number> {
  const { positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { address: { type: 'string' }, namespace: { type: 'string' }, cluster: { type: 'string' } },
  });
  const [id, ...extra] = positionals;
  if (!id || extra.length) throw new UsageError('schedule remove needs one ID, as `schedule list` prints it');
  const scheduleId = id.startsWith(schedulePrefix(target.cluster)) ? id : `${schedulePrefix(target.cluster)}${id}`;
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      out(`no schedule ${scheduleId}`);
      return 1;
    }
    throw err;
  }
  out(`removed ${scheduleId}`);
  return 0;
}

/** Target flags shared by every schedule verb; the rest is each verb's own. */
function targetOf(argv: string[]): OperatorTarget {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: { address: { type: 'string' }, namespace: { type: 'string' }, cluster: { type: 'string' } },
  });
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return operatorTarget({
    address: str(values.address),
    namespace: str(values.namespace),
    cluster: str(values.cluster),
  });
}

/** `schedule add|list|remove ...`; exit 0 on success, 1 when the thing to remove does not exist. */
export async function runScheduleCommand(argv: string[], out: Out = console.log): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'add' && verb !== 'list' && verb !== 'remove')
    throw new UsageError('schedule needs add, list or remove');
  const target = targetOf(rest);
  const connection = await connectTemporal(target);
  try {
    const client = new Client({ connection, namespace: target.namespace });
    if (verb === 'add') return await add(client, target, rest, out);
    if (verb === 'list') return await list(client, target, out);
    return await remove(client, target, rest, out);
  } finally {
    await connection.close();
  }
}
