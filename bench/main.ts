// `npm run bench [name...]`: runs every registered benchmark (or the named ones), each printing its own table.
// Nothing here asserts a time: numbers depend on the machine, so they are for reading, not for CI.
import { cpus } from 'node:os';
import { printPlannerBench } from './planner.bench.js';

/** A benchmark: the name to select it by, and a function that runs it and prints its results. */
interface Bench {
  name: string;
  run: () => void;
}

const BENCHES: Bench[] = [{ name: 'planner', run: printPlannerBench }];

const only = process.argv.slice(2);
console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
for (const bench of BENCHES) {
  if (only.length > 0 && !only.includes(bench.name)) continue;
  console.log(`\n${bench.name}:`);
  bench.run();
}
