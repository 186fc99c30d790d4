import type { z } from 'zod';
import type { NodeLookup, RemovalCandidate } from '../shared/operations.js';
import type { GroupView } from '../shared/plan-contract.js';
import type { EvaluatorState, EvaluatorStatus } from './evaluator-state.js';
import {
  DrainNodeSchema,
  HoldSchema,
  OverrideSizeSchema,
  PauseSchema,
  ResumeSchema,
  ScaleGroupSchema,
  describeIssue,
} from './messages.js';
import { limitBreach } from './steering.js';
import type { OperationStarter } from './operations.js';

// The operator commands, one code path for both ways of sending them: an update (answers, refuses synchronously)
// and a signal of the same name (the Web UI's "Send a Signal"; a refusal is recorded in `status`). Each command has
// a cheap `check` that runs in the update validator (nothing refused reaches history) and again inside the
// evaluator's mutex right before it acts, where two racing commands see each other's effects.

/** A command refused for a reason the operator can act on. */
export class Refused extends Error {
  /** Also record it in `status.refusals` when it came as an update (signals' refusals always are). */
  readonly record: boolean;
  constructor(message: string, opts: { record?: boolean } = {}) {
    super(message);
    this.record = opts.record ?? false;
  }
}

export interface CommandContext {
  state: EvaluatorState;
  ops: OperationStarter;
  lookupNode(node: string): Promise<NodeLookup>;
  removalCandidates(group: string): Promise<RemovalCandidate[]>;
  /** Re-plan soon: something an evaluation depends on changed. */
  touch(): void;
  /** The evaluator runs in dry-run: commands that would start an operation are refused. */
  dryRun: boolean;
}

const DRY_RUN_REFUSAL = 'this evaluator runs in dry-run mode';

/** At most this many holds, so a runaway script cannot grow the evaluator's state without bound. */
export const MAX_HOLDS = 1000;

interface Command<S extends z.ZodType, R> {
  schema: S;
  /** A refusal reason from state alone, or undefined. */
  check(ctx: CommandContext, req: z.output<S>): string | undefined;
  run(ctx: CommandContext, req: z.output<S>): Promise<R>;
}

function groupView(ctx: CommandContext, group: string): GroupView | string {
  const plan = ctx.state.lastPlan;
  if (!plan) return 'no evaluation has run yet; try again in a few seconds';
  const view = plan.groups[group];
  if (!view) {
    const known = Object.keys(plan.groups).join(', ') || '(none)';
    return `unknown node group '${group}'; configured groups: ${known}`;
  }
  return view;
}

function checkGroup(ctx: CommandContext, group: string | undefined): string | undefined {
  if (group === undefined) return undefined;
  const view = groupView(ctx, group);
  return typeof view === 'string' ? view : undefined;
}

function now(): number {
  return Date.now();
}

const pause: Command<typeof PauseSchema, EvaluatorStatus> = {
  schema: PauseSchema,
  check: (ctx, req) => checkGroup(ctx, req.group),
  async run(ctx, req) {
    const until = req.forSeconds ? now() + req.forSeconds * 1000 : undefined;
    if (req.group) ctx.state.data.pausedGroups[req.group] = { reason: req.reason, until };
    else ctx.state.data.paused = { reason: req.reason, until };
    ctx.touch();
    return ctx.state.status();
  },
};

const resume: Command<typeof ResumeSchema, EvaluatorStatus> = {
  schema: ResumeSchema,
  check: (ctx, req) => checkGroup(ctx, req.group),
  async run(ctx, req) {
    if (req.group) {
      delete ctx.state.data.pausedGroups[req.group];
      // Resuming a group also ends a size override's window early.
      delete ctx.state.data.overrides?.[req.group];
    } else ctx.state.data.paused = null;
    ctx.touch();
    return ctx.state.status();
  },
};

const hold: Command<typeof HoldSchema, EvaluatorStatus> = {
  schema: HoldSchema,
  check(ctx, req) {
    if (!req.release && !(req.node in ctx.state.data.holds) && Object.keys(ctx.state.data.holds).length >= MAX_HOLDS)
      return `${MAX_HOLDS} nodes are held already; release some first`;
    return undefined;
  },
  async run(ctx, req) {
    if (req.release) delete ctx.state.data.holds[req.node];
    else
      ctx.state.data.holds[req.node] = {
        reason: req.reason,
        until: req.forSeconds ? now() + req.forSeconds * 1000 : undefined,
      };
    ctx.touch();
    return ctx.state.status();
  },
};

function drainRefusal(ctx: CommandContext, node: string, group: string | undefined): string | undefined {
  if (ctx.state.isBusy(node)) return `${node} is already being removed`;
  if (node in ctx.state.data.holds)
    return `${node} is held by an operator (${ctx.state.data.holds[node]!.reason}); release it first`;
  if (group === undefined) return undefined;
  const view = groupView(ctx, group);
  if (typeof view === 'string') return view;
  if (ctx.state.groupSize(group) - 1 < view.min) return `${group} would drop below min-size ${view.min}`;
  return undefined;
}

const drainNode: Command<typeof DrainNodeSchema, { workflowId: string }> = {
  schema: DrainNodeSchema,
  check: (ctx, req) =>
    ctx.dryRun ? DRY_RUN_REFUSAL : drainRefusal(ctx, req.node, ctx.state.lastPlan?.nodes[req.node]?.group),
  async run(ctx, req) {
    const node = await ctx.lookupNode(req.node);
    if (!node.managed || !node.group || !node.hostname)
      throw new Refused(`${req.node} is not a node slicer-autoscaler manages`);
    // Checked again after the lookup: another command may have acted while it ran.
    const refusal = drainRefusal(ctx, req.node, node.group);
    if (refusal) throw new Refused(refusal);
    const view = groupView(ctx, node.group) as GroupView;
    const workflowId = await ctx.ops.scaleDown({
      node: req.node,
      group: node.group,
      hostname: node.hostname,
      ...(node.vmId && { vmId: node.vmId }),
      reason: `operator: ${req.reason}`,
      drainTimeoutMs: view.drainTimeoutMs,
    });
    return { workflowId };
  },
};

function scaleRefusal(ctx: CommandContext, group: string, size: number): string | undefined {
  const view = groupView(ctx, group);
  if (typeof view === 'string') return view;
  if (size > view.max) return `max-size is ${view.max}`;
  if (size < view.min) return `min-size is ${view.min}`;
  const adding = size - ctx.state.groupSize(group);
  const limit = ctx.state.lastPlan?.maxNodesTotal ?? 0;
  if (adding > 0 && limit > 0 && ctx.state.totalSize() + adding > limit)
    return `--max-nodes-total is ${limit} and the cluster has ${ctx.state.totalSize()} node(s) or VMs on the way`;
  return undefined;
}

const scaleGroup: Command<typeof ScaleGroupSchema, { started: string[]; message: string }> = {
  schema: ScaleGroupSchema,
  check: (ctx, req) => {
    if (ctx.dryRun) return DRY_RUN_REFUSAL;
    const refusal = scaleRefusal(ctx, req.group, req.size);
    return refusal && `scaleGroup ${req.group} to ${req.size} refused: ${refusal}`;
  },
  async run(ctx, req) {
    const view = groupView(ctx, req.group) as GroupView;
    const current = ctx.state.groupSize(req.group);
    if (req.size > current) {
      const started = await ctx.ops.scaleUp({
        group: req.group,
        count: req.size - current,
        reason: `operator: ${req.reason}`,
        provisionTimeoutMs: view.provisionTimeoutMs,
      });
      return { started, message: `adding ${req.size - current} VM(s) to ${req.group} (${current} -> ${req.size})` };
    }
    if (req.size === current) return { started: [], message: `${req.group} is already at ${current}` };
    const candidates = await ctx.removalCandidates(req.group);
    const started: string[] = [];
    for (const c of candidates) {
      if (ctx.state.groupSize(req.group) <= req.size) break;
      if (drainRefusal(ctx, c.node, req.group)) continue;
      started.push(
        await ctx.ops.scaleDown({
          node: c.node,
          group: req.group,
          hostname: c.hostname,
          ...(c.vmId && { vmId: c.vmId }),
          reason: `operator: ${req.reason}`,
          drainTimeoutMs: view.drainTimeoutMs,
        }),
      );
    }
    const short = ctx.state.groupSize(req.group) - req.size;
    return {
      started,
      message: `removing ${started.length} node(s) from ${req.group}${short > 0 ? `; ${short} more could not be chosen (held, busy or still joining)` : ''}`,
    };
  },
};

const overrideSize: Command<typeof OverrideSizeSchema, EvaluatorStatus> = {
  schema: OverrideSizeSchema,
  // Only what the request alone gets wrong is refused before history: a limit breach is refused inside (see run).
  check: (ctx, req) => checkGroup(ctx, req.group),
  async run(ctx, req) {
    const breach = limitBreach(req.group, req.size, ctx.state.lastPlan?.groups[req.group]);
    // Recorded, not only answered: a schedule that asks the impossible must be visible in `status`.
    if (breach) throw new Refused(`overrideSize ${breach}`, { record: true });
    const until = now() + req.forSeconds * 1000;
    ctx.state.data.overrides = {
      ...ctx.state.data.overrides,
      [req.group]: { size: req.size, until, reason: req.reason },
    };
    ctx.touch();
    return ctx.state.status();
  },
};

/** Every operator command by its message name. */
export const COMMANDS = { pause, resume, hold, drainNode, scaleGroup, overrideSize } as const;
export type CommandName = keyof typeof COMMANDS;

/** Parses and checks a command's input; returns the parsed request or a refusal naming the field or the limit. */
export function precheck<N extends CommandName>(
  ctx: CommandContext,
  name: N,
  raw: unknown,
): { ok: true; req: z.output<(typeof COMMANDS)[N]['schema']> } | { ok: false; reason: string } {
  const command = COMMANDS[name] as unknown as Command<z.ZodType, unknown>;
  const parsed = command.schema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: `${name} refused: ${describeIssue(parsed.error)}` };
  const refusal = command.check(ctx, parsed.data);
  if (refusal) return { ok: false, reason: refusal.startsWith(name) ? refusal : `${name} refused: ${refusal}` };
  return { ok: true, req: parsed.data as z.output<(typeof COMMANDS)[N]['schema']> };
}

/** Runs a command after checking it again; throws Refused with the reason if it may not run. */
export async function execute<N extends CommandName>(
  ctx: CommandContext,
  name: N,
  raw: unknown,
): Promise<Awaited<ReturnType<(typeof COMMANDS)[N]['run']>>> {
  const checked = precheck(ctx, name, raw);
  if (!checked.ok) throw new Refused(checked.reason);
  const command = COMMANDS[name] as unknown as Command<z.ZodType, unknown>;
  try {
    return (await command.run(ctx, checked.req)) as Awaited<ReturnType<(typeof COMMANDS)[N]['run']>>;
  } catch (err) {
    if (err instanceof Refused && !err.message.startsWith(name))
      throw new Refused(`${name} refused: ${err.message}`, { record: err.record });
    throw err;
  }
}
