import { parseArgs } from 'node:util';
import { createElement as h } from 'react';
import { Client } from '@temporalio/client';
import { parseDuration } from '../config/duration.js';
import { connectTemporal, operatorTarget, UsageError } from './operator.js';
import { renderTopText } from './view/render.js';
import { fetchTopData, guessUiUrl } from './view/source.js';
import { loadLiveView } from './view/terminal.js';

/** Refresh every 2 s by default: fast enough to watch a join, slow enough to be no load on the server. */
const DEFAULT_INTERVAL = '2s';
/** Never refresh faster than this: each frame is two queries and one visibility list. */
const MIN_INTERVAL_MS = 500;

/**
 * `slicer-autoscaler top`: a live view of the evaluator in a terminal, or one plain frame when stdout (or stdin, for
 * the keys) is not a terminal, or with --once. Exit code 1 when the evaluator cannot be asked.
 */
export async function runTop(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      address: { type: 'string' },
      namespace: { type: 'string' },
      cluster: { type: 'string' },
      ui: { type: 'string' },
      interval: { type: 'string', default: DEFAULT_INTERVAL },
      once: { type: 'boolean', default: false },
    },
  });
  if (positionals.length) throw new UsageError(`top takes no arguments, got '${positionals.join(' ')}'`);
  const intervalMs = parseDuration(values.interval);
  if (intervalMs === undefined || intervalMs < MIN_INTERVAL_MS)
    throw new UsageError(`--interval ${values.interval}: expected a duration of at least 500ms, like 2s`);
  if (values.ui !== undefined && !/^https?:\/\/\S+$/.test(values.ui))
    throw new UsageError(`--ui ${values.ui}: expected the Temporal Web UI's URL, like http://127.0.0.1:8233`);
  const target = operatorTarget({ address: values.address, namespace: values.namespace, cluster: values.cluster });
  const uiUrl = values.ui ?? process.env['TEMPORAL_UI_URL'] ?? guessUiUrl(target.address);

  const connection = await connectTemporal(target);
  try {
    const client = new Client({ connection, namespace: target.namespace });
    const load = () => fetchTopData(client, { cluster: target.cluster, namespace: target.namespace, uiUrl });
    if (values.once || !process.stdout.isTTY || !process.stdin.isTTY) {
      const data = await load();
      const width = process.stdout.columns ?? 160;
      process.stdout.write(`${renderTopText(data, { now: data.fetchedAt, width, rows: 20 })}\n`);
      return data.error ? 1 : 0;
    }
    const { render, LiveView } = await loadLiveView();
    const app = render(
      h(LiveView, { load, intervalMs, hint: `q quit · refreshes every ${values.interval} · ${target.address}` }),
      { exitOnCtrlC: true },
    );
    await app.waitUntilExit();
    return 0;
  } finally {
    await connection.close();
  }
}
