import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 has a CommonJS build (main) and an ESM one (module). Node (tsx, `pnpm start`)
    // loads the CommonJS one for every importer; Vite would hand our sources the ESM one while the
    // external Pothos and graphql-yoga get the CommonJS one, and graphql's instanceof checks
    // ("Cannot use GraphQLScalarType from another module or realm") fail across the two copies.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
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
