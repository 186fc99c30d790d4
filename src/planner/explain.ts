import { templateBin, templateLabels } from './cluster.js';
import { selectorMatches, shortfall, untoleratedTaint } from './fit.js';
import { formatCpu, formatMemory } from './quantity.js';
import { PodReason } from './reasons.js';
import type { GroupInfo, PlannerInput, PodInfo, PodVerdict } from './types.js';
import type { World } from './world.js';

// Why a pending pod gets no new node, in words an operator can act on: cluster-autoscaler only says
// "NotTriggerScaleUp" with a per-group predicate dump; we name the one thing to change where there is one.

/** The most specific reason why no group can take a pod. */
export function explainNoScaleUp(
  pod: PodInfo,
  input: PlannerInput,
  room: (g: GroupInfo) => number,
  available: (g: GroupInfo) => boolean,
  world?: World,
  refusedGroups?: Map<string, string>,
): PodVerdict {
  const no = (reason: string, message: string): PodVerdict => ({ kind: 'no-scale-up', reason, message });
  if (input.groups.length === 0) return no(PodReason.NoGroupFits, 'no node groups are configured');
  const why: string[] = [];
  const kinds = new Set<string>();
  let largest: { g: GroupInfo; short: NonNullable<ReturnType<typeof shortfall>> } | undefined;
  for (const g of input.groups) {
    if (!selectorMatches(pod, templateLabels(g))) {
      kinds.add('selector');
      why.push(`${g.name}: node selector/affinity does not match (arch ${g.template.arch})`);
      continue;
    }
    const taint = untoleratedTaint(pod, g.template.taints);
    if (taint) {
      kinds.add('taint');
      why.push(`${g.name}: taint ${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect} not tolerated`);
      continue;
    }
    const short = shortfall(pod.requests, g.template.allocatable);
    if (short) {
      kinds.add('size');
      if (
        !largest ||
        g.template.allocatable.cpuMilli + g.template.allocatable.memoryBytes / 2 ** 30 >
          largest.g.template.allocatable.cpuMilli + largest.g.template.allocatable.memoryBytes / 2 ** 30
      ) {
        largest = { g, short };
      }
      why.push(
        `${g.name}: too small (${formatCpu(g.template.allocatable.cpuMilli)}, ${formatMemory(g.template.allocatable.memoryBytes)})`,
      );
      continue;
    }
    // An empty new node of the group, in the cluster as this plan leaves it.
    const topology = world?.explain(pod, templateBin(g, `${g.name} (new node)`));
    if (topology) {
      kinds.add('topology');
      why.push(`${g.name}: ${topology}`);
      continue;
    }
    const refusedNode = refusedGroups?.get(g.name);
    if (refusedNode) {
      kinds.add('refused');
      why.push(`${g.name}: the scheduler refused its new node ${refusedNode}`);
      continue;
    }
    if (input.state.pausedGroups.includes(g.name)) {
      kinds.add('paused');
      why.push(`${g.name}: paused by an operator`);
    } else if (!available(g)) {
      kinds.add('backoff');
      why.push(
        `${g.name}: in backoff after a failed scale-up until ${new Date(input.state.backoffUntil[g.name]!).toISOString()}`,
      );
    } else if (room(g) <= 0) {
      kinds.add('max');
      why.push(
        `${g.name}: at max-size ${g.maxSize}${input.options.maxNodesTotal ? ` (or the cluster at max-nodes-total ${input.options.maxNodesTotal})` : ''}`,
      );
    } else {
      kinds.add('max');
      why.push(`${g.name}: room left by this plan ran out`);
    }
  }
  const only = (k: string) => kinds.size === 1 && kinds.has(k);
  if (only('size') && largest) {
    const s = largest.short;
    const parts = [s.cpuMilli > 0 && `${formatCpu(s.cpuMilli)}`, s.memoryBytes > 0 && `${formatMemory(s.memoryBytes)}`]
      .filter(Boolean)
      .join(' and ');
    return no(
      PodReason.TooBigForEveryTemplate,
      `requests ${formatCpu(pod.requests.cpuMilli)} and ${formatMemory(pod.requests.memoryBytes)}; the largest template (${largest.g.name}: ${formatCpu(largest.g.template.allocatable.cpuMilli)}, ${formatMemory(largest.g.template.allocatable.memoryBytes)}) is ${parts} short`,
    );
  }
  if (only('selector'))
    return no(
      PodReason.NoGroupMatchesSelector,
      `no group's nodes would match its node selector or required affinity: ${why.join('; ')}`,
    );
  if (only('taint')) return no(PodReason.UntoleratedTaint, why.join('; '));
  if (only('topology')) return no(PodReason.TopologyNotSatisfiable, why.join('; '));
  if (only('refused')) return no(PodReason.SchedulerRefusedFit, why.join('; '));
  const fitting = ['paused', 'backoff', 'max'].filter((k) => kinds.has(k));
  if (fitting.length > 0) {
    const reason = fitting.length === 1 && fitting[0] === 'max' ? PodReason.MaxSizeReached : PodReason.NoGroupAvailable;
    return no(reason, why.join('; '));
  }
  return no(PodReason.NoGroupFits, why.join('; '));
}
