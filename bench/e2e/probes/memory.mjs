// Loaded into the worker with `--worker-node-options "--import <this file>"`: every 2 s it appends one JSON line
// to $BENCH_MEMORY_LOG with the main isolate's heap, external memory and the kernel's split of the RSS (anonymous
// vs file-backed), so a high RSS can be attributed: JS heap, Buffers, or native memory (Temporal core, other
// isolates, malloc). Only for measuring; it changes nothing in the worker.
import { appendFileSync, readFileSync } from 'node:fs';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.BENCH_MEMORY_LOG;
const mib = (n) => Math.round(n / 1048576);

function field(status, name) {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

if (file) {
  const started = Date.now();
  const timer = setInterval(() => {
    const u = process.memoryUsage();
    const status = readFileSync('/proc/self/status', 'utf8');
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, mib(s.space_used_size)]));
    appendFileSync(
      file,
      JSON.stringify({
        t: Math.round((Date.now() - started) / 1000),
        rss: mib(u.rss),
        rssAnon: Math.round((field(status, 'RssAnon') ?? 0) / 1024),
        rssFile: Math.round((field(status, 'RssFile') ?? 0) / 1024),
        heapTotal: mib(u.heapTotal),
        heapUsed: mib(u.heapUsed),
        external: mib(u.external),
        arrayBuffers: mib(u.arrayBuffers),
        threads: field(status, 'Threads'),
        spaces,
      }) + '\n',
    );
  }, 2000);
  timer.unref();
}
