// `npm run bench [name...]`: the planner benchmark (default), or `npm run bench e2e [-- --scenario NAME ...]`: the
// whole product on the local stack (bench/e2e/main.ts). Nothing here asserts a time: numbers depend on the
// machine, so they are for reading, not for CI.
import { cpus } from 'node:os';
import { printCacheBench } from './cache.bench.js';
import { printPlannerBench } from './planner.bench.js';

/** A benchmark: the name to select it by, and a function that runs it and prints its results. */
interface Bench {
  name: string;
  run: () => void;
}

const BENCHES: Bench[] = [
  { name: 'planner', run: printPlannerBench },
  { name: 'cache', run: printCacheBench },
];

async function main(args: string[]): Promise<number> {
  if (args[0] === 'e2e') {
    const { runE2e } = await import('./e2e/main.js');
    return runE2e(args.slice(1));
  }
  console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
  for (const bench of BENCHES) {
    if (args.length > 0 && !args.includes(bench.name)) continue;
    console.log(`\n${bench.name}:`);
    bench.run();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
