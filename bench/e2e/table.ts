import type { ScenarioResult } from './result.js';

const kb = (b: number | undefined) => (b === undefined ? '-' : `${(b / 1000).toFixed(1)}`);

/** The results as a Markdown table (for the terminal and the README), then each target not met. */
export function formatTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const h = r.history;
    const can = h.continueAsNewEverySec
      ? `${h.continuedAsNew}, every ${Math.round(h.continueAsNewEverySec.median)} s`
      : `${h.continuedAsNew}`;
    return [
      r.name,
      `${r.figure.name}: **${Number.isFinite(r.figure.value) ? r.figure.value : 'n/a'}${r.figure.unit ? ` ${r.figure.unit}` : ''}**`,
      `${r.vms.made} / ${r.vms.minimum} (peak ${r.vms.peak})`,
      `${r.worker.peakRssMiB} (idle ${r.worker.idleRssMiB})`,
      `${kb(h.bytesPerEvaluation?.p99)} (max ${kb(h.bytesPerEvaluation?.max)}, n=${h.evaluations})`,
      can,
      `${r.load.atStart[0] ?? '-'} → ${r.load.max1m}`,
      r.anchors.map((a) => `${a.name}: ${a.ratio}`).join('; '),
      r.error
        ? 'run failed'
        : `${r.targets.filter((t) => t.met).length}/${r.targets.length}` +
          (r.targets.some((t) => !t.met)
            ? ` (missed: ${r.targets
                .filter((t) => !t.met)
                .map((t) => t.name)
                .join(', ')})`
            : ''),
    ];
  });
  const head = [
    'scenario',
    'figure',
    'VMs made / minimum',
    'worker RSS MiB',
    'history KB per evaluation, p99',
    'continue-as-new',
    'load 1m',
    'anchor ratios (ours / theirs)',
    'targets met',
  ];
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
