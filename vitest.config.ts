import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no services (pure logic and workflow replay); `integration` runs
// against the real PostgreSQL, Temporal, Kafka and S3, started once per run by the global setup,
// each file in databases of its own and in the Temporal namespace `etl-test`.
export default defineConfig({
  test: {
    // One service stack is shared by the run: files run one after another so they don't starve 2 cores.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          // Each file gets databases of its own, copied from templates the global setup migrated.
          setupFiles: ['test/file-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
