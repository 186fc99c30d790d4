import type { EvaluatorStatus } from '../../workflows/evaluator-state.js';
import { evaluatorUiLink, type TopData } from './source.js';

// The live view as plain lines, each with a tone the terminal view colours. Pure: the same data, time and width
// always give the same lines, so `top` without a terminal, the ink view and the tests share one renderer.

export type Tone = 'title' | 'head' | 'plain' | 'ok' | 'warn' | 'bad' | 'dim';
export interface ViewLine {
  text: string;
  tone: Tone;
}

export interface RenderOptions {
  now: number;
  /** Lines are cut to this many columns. */
  width: number;
  /** How many rows each list (operations, pods, nodes, decisions) may take before "+N more". */
  rows?: number;
}

/** `45s`, `4m10s`, `2h05m`: short enough for a table cell. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function left(until: number | undefined, now: number): string {
  return until === undefined ? 'until resumed' : `${shortDuration(until - now)} left`;
}

function groupRows(status: EvaluatorStatus, phases: Record<string, string>, now: number): string[][] {
  const rows = [['GROUP', 'MIN', 'MAX', 'VMS', 'READY', 'IN FLIGHT', 'BACKOFF', 'PAUSE']];
  for (const [name, g] of Object.entries(status.groups)) {
    const ops = Object.entries(status.operations).filter(([, o]) => o.group === name);
    const creating = ops.filter(([, o]) => o.kind === 'scale-up').reduce((n, [, o]) => n + (o.count ?? 0), 0);
    const flight = ops.map(([id, o]) =>
      o.kind === 'scale-up' ? `+${o.count ?? 0} ${phases[id] ?? 'starting'}` : `-1 ${phases[id] ?? 'starting'}`,
    );
    const b = status.backoff[name];
    const backoff = b && b.until > now ? `${shortDuration(b.until - now)} (${b.failures} failed)` : '-';
    const pause = status.pausedGroups[name];
    const pin = status.overrides[name];
    const pauseText = pin
      ? `pinned at ${pin.size}, ${left(pin.until, now)}`
      : pause
        ? `${pause.reason}, ${left(pause.until, now)}`
        : '-';
    rows.push([
      name,
      String(g.min),
      String(g.max),
      String(g.size + creating),
      `${g.ready}/${g.size}`,
      flight.length ? flight.join(', ') : '-',
      backoff,
      pauseText,
    ]);
  }
  return rows;
}

function more(lines: ViewLine[], items: number, shown: number): ViewLine[] {
  if (items > shown) lines.push({ text: `  … ${items - shown} more`, tone: 'dim' });
  return lines;
}

/** A decision the evaluator made, or an outcome it heard of, with when and why. */
interface Decision {
  at: number;
  text: string;
  tone: Tone;
}

function decisions(status: EvaluatorStatus): Decision[] {
  const list: Decision[] = [];
  for (const [id, o] of Object.entries(status.operations))
    list.push({
      at: o.startedAt,
      tone: 'plain',
      text: `started ${id}${o.kind === 'scale-up' ? ` (+${o.count ?? 0})` : ''}: ${o.reason}`,
    });
  for (const r of status.recent)
    list.push({
      at: r.at,
      tone: r.succeeded ? 'ok' : 'bad',
      text: `${r.succeeded ? 'done' : 'failed'} ${r.workflowId}: ${r.message}`,
    });
  for (const r of status.refusals) list.push({ at: r.at, tone: 'warn', text: `refused ${r.command}: ${r.reason}` });
  for (const o of status.orphans)
    list.push({ at: o.at, tone: 'warn', text: `orphan sweep ${o.action} ${o.node ?? o.hostname}: ${o.reason}` });
  return list.sort((a, b) => b.at - a.at);
}

/** One frame of `slicer-autoscaler top`. */
export function renderTop(data: TopData, opts: RenderOptions): ViewLine[] {
  const { now, width } = opts;
  const rows = opts.rows ?? 6;
  const out: ViewLine[] = [];
  const push = (text: string, tone: Tone = 'plain') => out.push({ text: cut(text, width), tone });
  const s = data.status;
  const evaluated = s?.lastEvaluationAt
    ? `evaluated ${shortDuration(now - s.lastEvaluationAt)} ago`
    : 'not evaluated yet';
  const clock = `${new Date(data.fetchedAt).toISOString().slice(11, 19)} UTC`;
  push(`slicer-autoscaler top · cluster ${data.cluster} · ${s ? evaluated : 'no data'} · ${clock}`, 'title');
  if (data.error || !s) {
    push(data.error ?? 'no status yet', 'bad');
  } else {
    if (s.dryRun) push('DRY-RUN: operations are recorded, never started', 'warn');
    if (s.paused) push(`PAUSED: ${s.paused.reason} (${left(s.paused.until, now)})`, 'warn');
    if (s.blocked) push(`scale-down blocked: ${s.blocked.reason}: ${s.blocked.message}`, 'warn');
    push('');
    for (const line of table(groupRows(s, data.phases, now))) push(line, line.startsWith('GROUP') ? 'head' : 'plain');

    const ops = Object.entries(s.operations).sort(([, a], [, b]) => a.startedAt - b.startedAt);
    push('');
    push(`OPERATIONS IN FLIGHT (${ops.length})`, 'head');
    if (ops.length === 0) push('  none', 'dim');
    const opRows = ops
      .slice(0, rows)
      .map(([id, o]) => [
        `  ${id}`,
        data.phases[id] ?? 'starting',
        shortDuration(now - o.startedAt),
        o.kind === 'scale-up' ? `+${o.count ?? 0} VM(s)` : (o.node ?? ''),
      ]);
    if (opRows.length) for (const line of table(opRows)) push(line);
    more(out, ops.length, rows);

    const plan = data.plan;
    push('');
    push(`PENDING PODS (${s.pendingPods})`, 'head');
    if (plan && Object.keys(plan.podReasons).length) {
      push(
        `  ${Object.entries(plan.podReasons)
          .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
          .map(([reason, n]) => `${reason} ${n}`)
          .join(' · ')}`,
      );
      const pods = Object.entries(plan.pods);
      for (const [key, v] of pods.slice(0, rows))
        push(`  ${key}  ${v.reason}: ${v.message}`, v.kind === 'no-scale-up' ? 'warn' : 'plain');
      more(out, pods.length, rows);
    } else push('  none', 'dim');

    const nodes = Object.entries(plan?.nodes ?? {});
    push('');
    push(`MANAGED NODES (${nodes.length})`, 'head');
    if (nodes.length === 0) push('  none', 'dim');
    for (const [name, n] of nodes.slice(0, rows))
      push(`  ${name}  ${n.verdict.reason}: ${n.verdict.message}`, n.verdict.kind === 'removable' ? 'ok' : 'plain');
    more(out, nodes.length, rows);

    const list = decisions(s);
    push('');
    push('LAST DECISIONS', 'head');
    if (s.dryRun && s.wouldHave) {
      const w = s.wouldHave;
      const parts = [
        ...w.scaleUps.map((u) => `scale-up ${u.group} +${u.count}`),
        ...w.scaleDowns.map((d) => `scale-down ${d.node}`),
      ];
      push(
        `  ${shortDuration(now - w.at)} ago  would have started: ${parts.length ? parts.join(', ') : 'nothing'}`,
        'warn',
      );
    }
    if (list.length === 0 && !s.wouldHave) push('  none yet', 'dim');
    for (const d of list.slice(0, rows)) push(`  ${shortDuration(now - d.at)} ago  ${d.text}`, d.tone);
    more(out, list.length, rows);
  }
  push('');
  if (data.uiUrl) push(`Temporal UI: ${evaluatorUiLink(data.uiUrl, data.namespace, data.cluster)}`, 'dim');
  else push('Temporal UI: pass --ui URL (or TEMPORAL_UI_URL) to get a link here', 'dim');
  return out;
}

/** The frame as text, for a pipe or a log. */
export function renderTopText(data: TopData, opts: RenderOptions): string {
  return renderTop(data, opts)
    .map((l) => l.text)
    .join('\n');
}
