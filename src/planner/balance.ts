import { compareText, templateLabels } from './cluster.js';
import type { ExpansionOption } from './expanders.js';
import type { GroupInfo } from './types.js';

// --balance-similar-node-groups: Slicer host groups with the same template are interchangeable for pods, but
// each lives on its own physical host, so one scale-up is spread across them instead of filling one host.

const shapes = new WeakMap<GroupInfo, string>();
/** A group's template without its own name: equal for groups that are the same machine on different hosts. */
function shape(g: GroupInfo): string {
  let s = shapes.get(g);
  if (s === undefined) {
    const { ['slicer/hostgroup']: _omit, ...rest } = templateLabels(g);
    s = JSON.stringify([g.template.allocatable, g.template.arch, g.template.taints, Object.entries(rest).sort()]);
    shapes.set(g, s);
  }
  return s;
}

/** Same template on different Slicer hosts: what --balance-similar-node-groups spreads a scale-up across. */
export function similar(a: GroupInfo, b: GroupInfo): boolean {
  return shape(a) === shape(b);
}

/**
 * Splits a scale-up over similar groups, each step to the group with the fewest nodes, within each one's room.
 * Groups of equal size take turns in an order drawn from the plan's seeded `rnd`, so the odd node does not always
 * go to the same group.
 */
export function balance(
  pick: ExpansionOption,
  others: GroupInfo[],
  enabled: boolean,
  size: Record<string, number>,
  room: (g: GroupInfo) => number,
  rnd: () => number,
): [GroupInfo, number][] {
  if (!enabled || others.length === 0) return [[pick.group, pick.nodeCount]];
  const pool = [pick.group, ...others].sort((a, b) => compareText(a.name, b.name));
  const turn = new Map(pool.map((g) => [g, rnd()]));
  const add = new Map(pool.map((g) => [g, 0]));
  for (let i = 0; i < pick.nodeCount; i++) {
    const next = pool
      .filter((g) => add.get(g)! < room(g))
      .sort((a, b) => size[a.name]! + add.get(a)! - (size[b.name]! + add.get(b)!) || turn.get(a)! - turn.get(b)!)[0];
    if (!next) break;
    add.set(next, add.get(next)! + 1);
  }
  return [...add.entries()].filter(([, n]) => n > 0);
}
