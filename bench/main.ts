// `npm run bench`: every benchmark, printed as numbers and ratios. Nothing here asserts a time.
import { cpus } from 'node:os';
import { benchPlanner } from './planner.bench.js';

function main(): void {
  console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(
    '\nplanner: plan() over N nodes x 30 pods, 5,000 pending pods, 10 groups (median of 9 runs after a warm-up)',
  );
  console.log('nodes   running pods  median ms   p90 ms  growth vs previous row   VMs planned  nodes removable');
  let previous: number | undefined;
  let previousNodes: number | undefined;
  for (const row of benchPlanner()) {
    const growth = previous
      ? `${(row.medianMs / previous).toFixed(2)}x for ${(row.nodes / previousNodes!).toFixed(0)}x nodes`
      : '-';
    console.log(
      `${String(row.nodes).padStart(5)}  ${String(row.pods).padStart(12)}  ${row.medianMs.toFixed(1).padStart(9)}  ${row.p90Ms.toFixed(1).padStart(7)}  ${growth.padStart(22)}  ${String(row.scaleUps).padStart(11)}  ${String(row.scaleDowns).padStart(15)}`,
    );
    previous = row.medianMs;
    previousNodes = row.nodes;
  }
}

main();
