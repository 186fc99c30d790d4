import { admits, podKey, take, type Bin } from '../cluster.js';
import { equivalenceKey, fitsIn } from '../fit.js';
import type { PodInfo } from '../types.js';

/** Where each pod of a removed node goes, or the first pod that has nowhere to go. */
export type MoveResult = { moves: { pod: string; to: string }[] } | { stuck: PodInfo };

/**
 * Simulates draining nodes one after another onto the nodes that stay. Room taken by an accepted drain is kept,
 * so two removals never count on the same free space, and a drained node stops being a destination.
 */
export class DrainSimulator {
  private readonly order: string[];
  // Per pod class, the first destination that might still take it: committed room only shrinks, so a destination
  // that is wrong or full for pods of one size and constraints stays that way for the rest of the plan.
  private readonly skip = new Map<string, number>();

  /** `bins`: every node that accepts pods, with its free room (mutated as drains are accepted). */
  constructor(private readonly bins: Map<string, Bin>) {
    this.order = [...bins.keys()];
  }

  /** Tries to move `pods` off `node` (largest first, first fit); on success keeps the moves and drops the node. */
  drain(node: string, pods: PodInfo[]): MoveResult {
    const trial = new Map<string, Bin>();
    const dest = (name: string) => {
      let b = trial.get(name);
      if (!b) {
        const orig = this.bins.get(name)!;
        trial.set(name, (b = { ...orig, free: { ...orig.free } }));
      }
      return b;
    };
    const moves: { pod: string; to: string }[] = [];
    const sorted = [...pods].sort(
      (a, b) => b.requests.cpuMilli - a.requests.cpuMilli || b.requests.memoryBytes - a.requests.memoryBytes,
    );
    for (const p of sorted) {
      const k = equivalenceKey(p);
      let start = this.skip.get(k) ?? 0;
      let to: string | undefined;
      for (let j = start; j < this.order.length; j++) {
        const name = this.order[j]!;
        const orig = this.bins.get(name);
        if (!orig || !admits(orig, p) || !fitsIn(p.requests, orig.free)) {
          if (j === start) start = j + 1;
          continue;
        }
        if (name === node) continue;
        const b = dest(name);
        if (!fitsIn(p.requests, b.free)) continue;
        take(b, p);
        to = name;
        break;
      }
      this.skip.set(k, start);
      if (to === undefined) return { stuck: p };
      moves.push({ pod: podKey(p), to });
    }
    for (const [name, b] of trial) this.bins.get(name)!.free = b.free;
    this.bins.delete(node);
    return { moves };
  }
}
