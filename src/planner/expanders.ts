import { seededRandom } from '../util/seeded-random.js';
import { compareText } from './cluster.js';
import type { GroupInfo } from './types.js';

/** One way to serve pending pods: add `nodeCount` VMs to `group`, which would take `podCount` of them. */
export interface ExpansionOption {
  group: GroupInfo;
  nodeCount: number;
  podCount: number;
  /** Requested / capacity of the new nodes, cpu and memory. */
  cpuUsed: number;
  memoryUsed: number;
}

/** Narrows the options to the best ones by one criterion; a chain applies several in turn. */
export type Expander = (options: ExpansionOption[], random: () => number) => ExpansionOption[];

function best<T>(options: T[], score: (o: T) => number): T[] {
  const top = Math.max(...options.map(score));
  return options.filter((o) => score(o) === top);
}

/** cluster-autoscaler's default: the least idle CPU and memory on the new nodes. */
const leastWaste: Expander = (options) =>
  best(options, (o) => {
    const cpuWaste = 1 - o.cpuUsed;
    const memWaste = 1 - o.memoryUsed;
    return -Math.round(((cpuWaste + memWaste) / 2) * 1e6);
  });

const mostPods: Expander = (options) => best(options, (o) => o.podCount);

const priority: Expander = (options) => best(options, (o) => o.group.priority);

const random: Expander = (options, rnd) => [options[Math.floor(rnd() * options.length)]!];

/** The expanders by their --expander name. */
export const EXPANDERS: Record<string, Expander> = {
  'least-waste': leastWaste,
  'most-pods': mostPods,
  priority,
  random,
};

/**
 * Picks one option with a chain like `priority,least-waste`: each expander keeps its best, the next breaks ties;
 * a tie left at the end goes to the group name that sorts first, so plans are reproducible.
 */
export function choose(chain: string, options: ExpansionOption[], rnd: () => number): ExpansionOption | undefined {
  let left = options;
  for (const name of chain.split(',').map((s) => s.trim())) {
    if (left.length <= 1) break;
    const expander = EXPANDERS[name];
    if (!expander) throw new Error(`unknown expander '${name}'; expected one of ${Object.keys(EXPANDERS).join(', ')}`);
    left = expander(left, rnd);
  }
  return [...left].sort((a, b) => compareText(a.group.name, b.group.name))[0];
}

/**
 * A seeded PRNG (mulberry32) for the `random` expander.
 */
export function seededFrom(seed: number, now: number): () => number {
  // The evaluation time joins the seed so `random` varies between evaluations but not between replays.
  return seededRandom((seed ^ Math.floor(now / 1000)) >>> 0);
}
