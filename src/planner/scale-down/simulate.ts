import { admits, podKey, type Bin } from '../cluster.js';
import { equivalenceKey } from '../fit.js';
import type { PodInfo } from '../types.js';
import { Fit, type World } from '../world.js';

/** Where each pod of a removed node goes, or the first pod that has nowhere to go. */
export type MoveResult = { moves: { pod: string; to: string }[] } | { stuck: PodInfo };

/**
 * Simulates draining nodes one after another onto the nodes that stay. Room taken by an accepted drain is kept,
 * so two removals never count on the same free space, and a drained node stops being a destination and stops
 * counting for topology. Moved pods keep their affinity, anti-affinity, topology spread and host ports.
 */
export class DrainSimulator {
  private readonly byName: Map<string, Bin>;
  private readonly order: Bin[];
  // Per class of pods that only need room, the first destination that might still take it: committed room only
  // shrinks, so a destination that is wrong or full for pods of one size and constraints stays that way for the
  // rest of the plan. Pods with topology constraints have no such pointer: a drain can also make room for them.
  private readonly skip = new Map<string, number>();

  /** `world`: every node with its free room and pods (mutated as drains are accepted). */
  constructor(private readonly world: World) {
    this.byName = new Map(world.bins.map((b) => [b.name, b]));
    this.order = world.bins.filter((b) => b.accepts);
  }

  /** Tries to move `pods` off `node` (largest first, first fit); on success keeps the moves and drops the node. */
  drain(node: string, pods: PodInfo[]): MoveResult {
    const world = this.world;
    const self = this.byName.get(node);
    const mark = world.mark();
    // The node goes first: its pods stop counting, so a pod may move to where only its old node was in the way.
    if (self) world.removeBin(self);
    const moves: { pod: string; to: string }[] = [];
    const skips = new Map<string, number>();
    const sorted = [...pods].sort(
      (a, b) => b.requests.cpuMilli - a.requests.cpuMilli || b.requests.memoryBytes - a.requests.memoryBytes,
    );
    for (const p of sorted) {
      const prof = world.profile(p);
      const k = prof.trivial ? equivalenceKey(p) : undefined;
      let start = k === undefined ? 0 : (skips.get(k) ?? this.skip.get(k) ?? 0);
      let to: Bin | undefined;
      for (let j = start; j < this.order.length; j++) {
        const b = this.order[j]!;
        if (b.gone) {
          // A node drained by an earlier, accepted drain is gone for good; this drain's own node is not (yet).
          if (b !== self && j === start) start = j + 1;
          continue;
        }
        if (!admits(b, p) || world.check(p, b, prof) !== Fit.Yes) {
          if (j === start) start = j + 1;
          continue;
        }
        to = b;
        break;
      }
      if (k !== undefined) skips.set(k, start);
      if (!to) {
        world.rollback(mark);
        return { stuck: p };
      }
      world.place(p, to);
      moves.push({ pod: podKey(p), to: to.name });
    }
    world.commit(mark);
    // Only now: pointers moved past room this drain took would be wrong had it been rolled back.
    for (const [k, v] of skips) this.skip.set(k, v);
    return { moves };
  }
}
