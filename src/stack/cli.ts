// `npm run stack -- up|status|down [--state-dir DIR]`: the local stack for the demo and for poking around by hand.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stackStatus, startStack, stopStack } from './stack.js';

const DEFAULT_STATE_DIR = resolve('.stack', 'local');

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { 'state-dir': { type: 'string', default: DEFAULT_STATE_DIR }, 'temporal-port': { type: 'string' } },
  });
  const command = positionals[0] ?? 'status';
  const stateDir = resolve(values['state-dir']);
  switch (command) {
    case 'up': {
      const info = await startStack({
        stateDir,
        ownerPid: null,
        temporalPort: values['temporal-port'] ? Number(values['temporal-port']) : 7233,
        temporalUiPort: values['temporal-port'] ? undefined : 8233,
        log: (l) => console.log(l),
      });
      console.log(`[stack] up in ${(info.startedInMs / 1000).toFixed(1)} s`);
      console.log(`  Temporal:    ${info.temporalAddress}`);
      console.log(`  Temporal UI: ${info.temporalUiUrl}`);
      console.log(`  kubeconfig:  ${info.kubeconfigPath}   (export KUBECONFIG=${info.kubeconfigPath})`);
      console.log(`  stop with:   npm run stack -- down`);
      return 0;
    }
    case 'status': {
      const { info, components } = stackStatus(stateDir);
      if (components.length === 0) {
        console.log(`[stack] nothing running for ${stateDir}`);
        return 1;
      }
      for (const c of components)
        console.log(`  ${c.alive ? 'up  ' : 'DOWN'} ${c.name.padEnd(24)} pid ${c.pid}  log ${c.logFile}`);
      if (info) console.log(`  Temporal UI ${info.temporalUiUrl}; kubeconfig ${info.kubeconfigPath}`);
      return components.every((c) => c.alive) ? 0 : 1;
    }
    case 'down':
      await stopStack(stateDir);
      console.log('[stack] stopped');
      return 0;
    default:
      console.error(`usage: npm run stack -- up|status|down [--state-dir DIR] [--temporal-port N]`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[stack] ${(err as Error).message}`);
    process.exit(1);
  },
);
