import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadToolPaths } from '../../src/stack/tools.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';

// docker-compose.yml's namespace job (deploy/compose/setup-namespace.sh) cannot run in its container here, but it
// only needs the `temporal` CLI: run it with ours against the stack's Temporal server, on a fresh namespace, twice.

const execFileAsync = promisify(execFile);
const script = fileURLToPath(new URL('../../deploy/compose/setup-namespace.sh', import.meta.url));

describe('deploy/compose/setup-namespace.sh', () => {
  let connection: Connection;
  const namespace = `compose-${randomBytes(3).toString('hex')}`;
  const run = () =>
    execFileAsync('sh', [script], {
      env: {
        PATH: `${dirname(loadToolPaths().temporal)}:${process.env['PATH']}`,
        HOME: process.env['HOME'],
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: namespace,
      },
      timeout: 120_000,
    });

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('creates the namespace and every search attribute our workflows set, and is safe to run again', async () => {
    const first = await run();
    expect(first.stdout).toContain(`namespace ${namespace} created`);
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    const custom = res.customAttributes ?? {};
    // Same types as the stack registers on `default` with --search-attribute Name=Keyword.
    const reference = (await connection.operatorService.listSearchAttributes({ namespace: 'default' }))
      .customAttributes!;
    for (const key of ALL_SEARCH_ATTRIBUTES) {
      expect(custom[key.name], key.name).toBeDefined();
      expect(custom[key.name], key.name).toBe(reference[key.name]);
    }

    const second = await run();
    expect(second.stdout).toContain(`namespace ${namespace} exists`);
    for (const key of ALL_SEARCH_ATTRIBUTES) expect(second.stdout).toContain(`search attribute ${key.name} exists`);
  });
});
