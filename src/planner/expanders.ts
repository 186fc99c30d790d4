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
 * Picks one option with a chain like `priority,least-waste`: each expander keeps its best, the next breaks ties.
 * A tie left at the end goes to the group with the fewest nodes (`sizeOf`: registered, in flight and planned),
 * then is drawn with the plan's seeded `rnd`: identical groups share the load, and the same input still gives the
 * same plan. cluster-autoscaler draws at random; preferring the smaller group makes turns even, not just likely.
 */
export function choose(
  chain: string,
  options: ExpansionOption[],
  rnd: () => number,
  sizeOf: (g: GroupInfo) => number = () => 0,
): ExpansionOption | undefined {
  let left = options;
  for (const name of chain.split(',').map((s) => s.trim())) {
    if (left.length <= 1) break;
    const expander = EXPANDERS[name];
    if (!expander) throw new Error(`unknown expander '${name}'; expected one of ${Object.keys(EXPANDERS).join(', ')}`);
    left = expander(left, rnd);
  }
  if (left.length <= 1) return left[0];
  const smallest = Math.min(...left.map((o) => sizeOf(o.group)));
  // Name order first, so the draw does not depend on the order groups were configured in.
  const tied = left.filter((o) => sizeOf(o.group) === smallest).sort((a, b) => compareText(a.group.name, b.group.name));
  return tied.length === 1 ? tied[0] : tied[Math.floor(rnd() * tied.length)];
}

/**
 * A seeded PRNG (mulberry32) for the `random` expander.
 */
export function seededFrom(seed: number, now: number): () => number {
  // The evaluation time joins the seed so `random` varies between evaluations but not between replays.
  return seededRandom((seed ^ Math.floor(now / 1000)) >>> 0);
}
