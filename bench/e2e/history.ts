import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';

// What the evaluator's Temporal histories say: how many runs (continue-as-new), how many bytes each evaluation
// adds, how long plans take, and the events the reaction hops are timed by. Sizes are the events' protobuf
// encoding, as the server stores and counts them.

type Event = temporal.api.history.v1.IHistoryEvent;
// @temporalio/proto is CommonJS: its namespace comes through the default export under Node's ESM loader.
const E = proto.temporal.api.enums.v1.EventType;

/** Epoch ms of an event (server clock, the same machine as ours). */
export function eventMs(e: Event): number {
  const t = e.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

export function eventBytes(e: Event): number {
  return proto.temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
}

/** A payload's JSON (our data converter's encoding), or undefined. */
export function payloadJson(p: temporal.api.common.v1.IPayload | null | undefined): unknown {
  if (!p?.data) return undefined;
  try {
    return JSON.parse(Buffer.from(p.data).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Where the Temporal server suggests continue-as-new, by its defaults (`limit.historyCount.suggestContinueAsNew`,
 * `limit.historySize.suggestContinueAsNew`); the evaluator's own limit (10,000 events) is higher, so these decide.
 */
export const SUGGEST_CAN_EVENTS = 4096;
export const SUGGEST_CAN_BYTES = 4 * 1024 * 1024;

export interface Run {
  runId: string;
  startMs: number;
  closeMs?: number;
  status: string;
  events: Event[];
}

/** Every run of a workflow ID, oldest first, each with its history. */
export async function runsOf(client: Client, workflowId: string): Promise<Run[]> {
  const runs: Run[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
    runs.push({
      runId: w.runId,
      startMs: w.startTime.getTime(),
      ...(w.closeTime && { closeMs: w.closeTime.getTime() }),
      status: w.status.name,
      events: history.events ?? [],
    });
  }
  return runs.sort((a, b) => a.startMs - b.startMs);
}

/** One evaluation: from a planScaling being scheduled to the next one (or the run's end). */
export interface Evaluation {
  scheduledMs: number;
  /** planScaling scheduled -> completed, ms (undefined if it did not complete). */
  planMs?: number;
  /** Bytes of history from this plan's scheduling up to the next plan's. */
  bytes: number;
  events: number;
  /** Those bytes by event type, for finding what makes an evaluation big. */
  byType: Record<string, number>;
}

/** The evaluations of a set of runs, split at each planScaling; the last, open-ended one of each run is left out. */
export function evaluations(runs: Run[]): Evaluation[] {
  const out: Evaluation[] = [];
  for (const run of runs) {
    const scheduledIds = new Map<string, number>();
    let current: Evaluation | undefined;
    for (const e of run.events) {
      const isPlan =
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'planScaling';
      if (isPlan) {
        if (current) out.push(current);
        current = { scheduledMs: eventMs(e), bytes: 0, events: 0, byType: {} };
        scheduledIds.set(String(e.eventId), out.length);
      }
      if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        const at = scheduledIds.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
        const ev = at === out.length ? current : at !== undefined ? out[at] : undefined;
        if (ev) ev.planMs = eventMs(e) - ev.scheduledMs;
      }
      if (current) {
        const bytes = eventBytes(e);
        const type = (E[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
        current.bytes += bytes;
        current.events += 1;
        current.byType[type] = (current.byType[type] ?? 0) + bytes;
      }
    }
  }
  return out;
}

export interface HistorySummary {
  runs: number;
  continuedAsNew: number;
  /** Seconds between consecutive continue-as-new in the window. */
  continueAsNewEverySec?: { median: number; min: number };
  evaluations: number;
  bytesPerEvaluation?: Stats;
  eventsPerEvaluation?: Stats;
  planMs?: Stats;
  totalBytes: number;
  /** The biggest evaluation's bytes by event type. */
  largestEvaluation?: Record<string, number>;
  /** Events of the runs that continued as new: how long a run gets before Temporal or the evaluator ends it. */
  eventsPerClosedRun?: number;
  /** History events per minute over the window. */
  eventsPerMinute?: number;
  /**
   * Seconds between continue-as-new at this window's event rate: the length of runs that continued as new, or
   * (none did) the server's thresholds, divided by the rate.
   */
  projectedContinueAsNewSec?: number;
}

export interface Stats {
  median: number;
  p90: number;
  p99: number;
  max: number;
  n: number;
}

/** Nearest-rank percentiles. */
export function stats(values: number[]): Stats | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { median: at(0.5), p90: at(0.9), p99: at(0.99), max: s.at(-1)!, n: s.length };
}

/**
 * Runs, continue-as-new spacing, bytes and plan times within [fromMs, toMs]: runs that were open at some point of
 * it, continue-as-new that happened in it, evaluations that started in it.
 */
export function summarize(runs: Run[], fromMs = 0, toMs = Infinity): HistorySummary {
  const inWindow = runs.filter((r) => r.startMs <= toMs && (r.closeMs === undefined || r.closeMs >= fromMs));
  const evals = evaluations(runs).filter((e) => e.scheduledMs >= fromMs && e.scheduledMs <= toMs);
  const continued = inWindow.filter(
    (r) => r.status === 'CONTINUED_AS_NEW' && r.closeMs !== undefined && r.closeMs >= fromMs && r.closeMs <= toMs,
  );
  const closes = continued.map((r) => r.closeMs!);
  const gaps = closes.slice(1).map((c, i) => (c - closes[i]!) / 1000);
  const gapStats = stats(gaps);
  const bytes = stats(evals.map((e) => e.bytes));
  const evs = stats(evals.map((e) => e.events));
  const plans = stats(evals.flatMap((e) => (e.planMs === undefined ? [] : [e.planMs])));
  const closed = stats(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').map((r) => r.events.length));
  const windowEvents = runs.flatMap((r) => r.events).filter((e) => eventMs(e) >= fromMs && eventMs(e) <= toMs);
  const span = windowEvents.length > 1 ? eventMs(windowEvents.at(-1)!) - eventMs(windowEvents[0]!) : 0;
  const perMinute = span > 0 ? (windowEvents.length / span) * 60_000 : undefined;
  const windowBytes = windowEvents.reduce((n, e) => n + eventBytes(e), 0);
  const bytesPerMinute = span > 0 ? (windowBytes / span) * 60_000 : undefined;
  // Without a run that ended in the window, project from the server's thresholds at this window's rates.
  const runLength = closed?.median ?? SUGGEST_CAN_EVENTS;
  const projected =
    perMinute && bytesPerMinute
      ? Math.round(Math.min(runLength / perMinute, closed ? Infinity : SUGGEST_CAN_BYTES / bytesPerMinute) * 60)
      : undefined;
  return {
    runs: inWindow.length,
    continuedAsNew: continued.length,
    ...(gapStats && { continueAsNewEverySec: { median: gapStats.median, min: Math.min(...gaps) } }),
    evaluations: evals.length,
    ...(bytes && { bytesPerEvaluation: bytes }),
    ...(evals.length > 0 && {
      largestEvaluation: evals.reduce((a, b) => (b.bytes > a.bytes ? b : a)).byType,
    }),
    ...(evs && { eventsPerEvaluation: evs }),
    ...(plans && { planMs: plans }),
    totalBytes: windowBytes,
    ...(closed && { eventsPerClosedRun: closed.median }),
    ...(perMinute && { eventsPerMinute: Math.round(perMinute) }),
    ...(projected !== undefined && { projectedContinueAsNewSec: projected }),
  };
}

/** The evaluator's events of interest for timing one pod's reaction, across all runs, in order. */
export interface TimedEvent {
  ms: number;
  kind: 'signal' | 'plan-scheduled' | 'plan-completed' | 'child-initiated';
  /** For a signal: the change reasons; for a child: its workflow ID. */
  detail: string[];
  /** For a child: the group it scales. */
  group?: string;
}

export function timeline(runs: Run[]): TimedEvent[] {
  const out: TimedEvent[] = [];
  for (const run of runs) {
    const planIds = new Set<string>();
    for (const e of run.events) {
      const ms = eventMs(e);
      if (
        e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED &&
        e.workflowExecutionSignaledEventAttributes?.signalName === 'clusterChanged'
      ) {
        const input = payloadJson(e.workflowExecutionSignaledEventAttributes.input?.payloads?.[0]) as
          { reasons?: string[] } | undefined;
        out.push({ ms, kind: 'signal', detail: input?.reasons ?? [] });
      } else if (
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'planScaling'
      ) {
        planIds.add(String(e.eventId));
        out.push({ ms, kind: 'plan-scheduled', detail: [] });
      } else if (
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
        planIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId))
      ) {
        out.push({ ms, kind: 'plan-completed', detail: [] });
      } else if (e.eventType === E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
        const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
        if (a?.workflowType?.name !== 'scaleUpWorkflow') continue;
        const input = payloadJson(a.input?.payloads?.[0]) as { group?: string } | undefined;
        out.push({
          ms,
          kind: 'child-initiated',
          detail: [a.workflowId ?? ''],
          ...(input?.group && { group: input.group }),
        });
      }
    }
  }
  return out.sort((a, b) => a.ms - b.ms);
}

/** When a scale-up workflow started and when it scheduled its first launchVm, from its own history. */
export async function scaleUpStart(
  client: Client,
  workflowId: string,
): Promise<{ startedMs: number; launchScheduledMs?: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const launch = events.find(
    (e) =>
      e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'launchVm',
  );
  return { startedMs: eventMs(events[0]!), ...(launch && { launchScheduledMs: eventMs(launch) }) };
}
