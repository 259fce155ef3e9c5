import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'packages/*/test/**/*.spec.ts', 'projections/*/src/**/*.spec.ts', 'scripts/**/*.spec.ts'],
    globalSetup: ['scripts/test/postgres-server.global-setup.ts'],
    reporters: ['default', './scripts/test/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite takes ~400 MB and ~0.5 s to open: two workers fit the machine (2 cores).
    maxWorkers: 2,
  },
});
