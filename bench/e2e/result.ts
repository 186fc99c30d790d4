import type { HistorySummary } from './history.js';
import type { RssSample } from './machine.js';

// What each scenario reports, the anchors it is compared with, and the targets of issue 9.

/**
 * Published figures of the incumbents (see /work/shared/reference/anchors.md): cluster-autoscaler's SLO from a pod
 * marked unschedulable to the scale-up request (30 s on clusters under 100 nodes) and its default scan interval;
 * Karpenter's performance-suite gate (1,000 pods scaled out in under 2 minutes, controller memory under 260 MB).
 */
export const ANCHORS = {
  caScaleUpSloMs: 30_000,
  caScanIntervalMs: 10_000,
  caLoopAt1000NodesMs: 10_000,
  karpenterBurstMs: 120_000,
  karpenterMemoryMb: 260,
} as const;

export interface Anchor {
  /** What is compared, e.g. 'reaction p99 vs cluster-autoscaler 30 s SLO'. */
  name: string;
  /** Ours divided by theirs: below 1 is better than the anchor. */
  ratio: number;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface ScenarioResult {
  name: string;
  description: string;
  /** The headline number. */
  figure: { name: string; value: number; unit: string };
  /** Other numbers worth keeping, by name. */
  figures: Record<string, number | string | Record<string, number>>;
  vms: { made: number; minimum: number; peak: number };
  worker: { peakRssMiB: number; idleRssMiB: number; rss: RssSample[] };
  history: HistorySummary;
  load: { atStart: number[]; atEnd: number[]; max1m: number };
  anchors: Anchor[];
  targets: Target[];
  durationSec: number;
  /** Something went wrong mid-scenario: what, so the numbers above are read with it. */
  error?: string;
}

/** Resolves a MB figure (the anchors' unit) from MiB. */
export function mb(mib: number): number {
  return Math.round((mib * 1024 * 1024) / 1e6);
}

export function target(name: string, wanted: string, measured: string, met: boolean): Target {
  return { name, target: wanted, measured, met };
}

export function anchor(name: string, ours: number, theirs: number): Anchor {
  return { name, ratio: Math.round((ours / theirs) * 1000) / 1000 };
}

/** Issue 9's bound on history per evaluation, judged on the p99 (the max is printed beside it). */
export function historyTarget(h: HistorySummary): Target {
  const b = h.bytesPerEvaluation;
  return target(
    'history per evaluation',
    '< 16 KB',
    b ? `p99 ${(b.p99 / 1000).toFixed(1)} KB, max ${(b.max / 1000).toFixed(1)} KB (n=${b.n})` : 'no evaluations',
    b !== undefined && b.p99 < 16_000,
  );
}
