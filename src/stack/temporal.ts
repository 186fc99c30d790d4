import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { freePort } from './ports.js';
import { isAlive, logTail, startComponent, waitFor, type ComponentProcess } from './processes.js';

/** A running Temporal dev server. */
export interface TemporalServer {
  address: string;
  uiUrl: string;
  process: ComponentProcess;
}

const TYPE_NAMES: Record<string, string> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Starts `temporal server start-dev` on 127.0.0.1 with the Web UI, SQLite in the state dir and our search attributes. */
export async function startTemporal(
  stateDir: string,
  binary: string,
  opts: { port?: number; uiPort?: number } = {},
): Promise<TemporalServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    join(stateDir, 'temporal.db'),
    '--namespace',
    'default',
    '--log-level',
    'warn',
    // Updates are how operators steer the evaluator; the dev server has them on, but be explicit.
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  ];
  for (const key of ALL_SEARCH_ATTRIBUTES)
    args.push('--search-attribute', `${key.name}=${TYPE_NAMES[key.type] ?? 'Keyword'}`);
  const proc = startComponent(stateDir, 'temporal', binary, args);
  const address = `127.0.0.1:${port}`;
  await waitFor(
    'Temporal dev server',
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    },
    { timeoutMs: 60_000, intervalMs: 500, alive: () => isAlive(proc.pid), describe: () => logTail(proc.logFile) },
  );
  return { address, uiUrl: `http://127.0.0.1:${uiPort}`, process: proc };
}
