import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere in seconds; `integration` gets one real local stack per run
// (Temporal dev server + etcd/kube-apiserver/scheduler/controller-manager + KWOK) from globalSetup.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          pool: 'forks',
          // The stack is shared; files run one after another so they don't fight over two cores.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
