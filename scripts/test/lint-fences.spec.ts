import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The import fences of eslint.config.js, each broken once by a snippet placed at a realistic path
// (the file need not exist), and each allowed import shown to pass.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: ROOT });
const FENCE_RULES = new Set([
  'no-restricted-imports',
  'no-restricted-properties',
  'no-restricted-syntax',
  'no-restricted-globals',
  'v2g/no-package-internals',
  'v2g/module-imports-via-index',
]);

/** The fence rules that report on `code` as the file at `path` (relative to the root). */
async function fencesBroken(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  const messages = result!.messages;
  expect(
    messages.filter((m) => m.fatal),
    `${path} does not parse`,
  ).toEqual([]);
  return messages.filter((m) => m.ruleId !== null && FENCE_RULES.has(m.ruleId)).map((m) => m.ruleId!);
}

type Case = [path: string, code: string, rule: string];

const DOMAIN = 'packages/domain/src/billing/tariff-rules.ts';
const DOMAIN_SPEC = 'packages/domain/src/billing/tariff-rules.unit.spec.ts';
const MODULE = 'packages/ledger/src/modules/metering/metering-facade.ts';
const NESTED_MODULE = 'packages/ledger/src/modules/metering/readings/reading-log.ts';

const refused: Case[] = [
  // packages/domain: no I/O.
  [DOMAIN, "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;", 'no-restricted-imports'],
  [DOMAIN, "import { readFile } from 'fs/promises';\nexport const f = readFile;", 'no-restricted-imports'],
  [DOMAIN, "import net from 'net';\nexport const f = net;", 'no-restricted-imports'],
  [DOMAIN, "import http from 'http';\nexport const f = http;", 'no-restricted-imports'],
  [DOMAIN_SPEC, "import { createHash } from 'node:crypto';\nexport const f = createHash;", 'no-restricted-imports'],
  [DOMAIN, "import pg from 'pg';\nexport const f = pg;", 'no-restricted-imports'],
  [DOMAIN, "import type { Pool } from 'pg';\nexport type P = Pool;", 'no-restricted-imports'],
  [DOMAIN, "import { PGlite } from '@electric-sql/pglite';\nexport const f = PGlite;", 'no-restricted-imports'],
  [DOMAIN, "import { EventStoreDBClient } from '@eventstore/db-client';\nexport const f = EventStoreDBClient;", 'no-restricted-imports'],
  [DOMAIN, "import express from 'express';\nexport const f = express;", 'no-restricted-imports'],
  [DOMAIN, "import { GraphQLError } from 'graphql';\nexport const f = GraphQLError;", 'no-restricted-imports'],
  [DOMAIN, "import { createYoga } from 'graphql-yoga';\nexport const f = createYoga;", 'no-restricted-imports'],
  [DOMAIN, "import pino from 'pino';\nexport const f = pino;", 'no-restricted-imports'],
  [DOMAIN, "import { openStore } from '@v2g/event-store';\nexport const f = openStore;", 'no-restricted-imports'],
  [DOMAIN, "export { ProjectionRunner } from '@v2g/read-model';", 'no-restricted-imports'],
  // packages/domain: no clock or randomness.
  [DOMAIN, 'export const now = () => Date.now();', 'no-restricted-properties'],
  [DOMAIN, 'export const now = () => new Date();', 'no-restricted-syntax'],
  [DOMAIN, 'export const now = () => Date();', 'no-restricted-syntax'],
  [DOMAIN, 'export const pick = () => Math.random();', 'no-restricted-properties'],
  [DOMAIN, "export const level = () => process.env['LEVEL'];", 'no-restricted-globals'],
  [DOMAIN, 'export const later = (f: () => void) => setTimeout(f, 10);', 'no-restricted-globals'],
  [DOMAIN, 'export const tick = (f: () => void) => setInterval(f, 10);', 'no-restricted-globals'],
  // Projections stand on @v2g/read-model, not on the ledger or the server.
  ['projections/billing/src/billing-projection.ts', "import { createLedger } from '@v2g/ledger';\nexport const f = createLedger;", 'no-restricted-imports'],
  ['projections/grid/src/grid.int.spec.ts', "import { startServer } from '@v2g/server';\nexport const f = startServer;", 'no-restricted-imports'],
  // The read model and the event store sit below the ledger, the server and the projections.
  ['packages/read-model/src/projection-runner.ts', "import { createLedger } from '@v2g/ledger';\nexport const f = createLedger;", 'no-restricted-imports'],
  ['packages/read-model/src/index.ts', "import { startServer } from '@v2g/server';\nexport const f = startServer;", 'no-restricted-imports'],
  [
    'packages/event-store/src/postgres/postgres-store.ts',
    "import { billingProjection } from '@v2g/projection-billing';\nexport const f = billingProjection;",
    'no-restricted-imports',
  ],
  ['packages/event-store/test/store.int.spec.ts', "import type { GridRow } from '@v2g/projection-grid';\nexport type R = GridRow;", 'no-restricted-imports'],
  // Another package's internals, by name or by relative path.
  ['packages/server/src/app.ts', "import { createLedger } from '@v2g/ledger/src/ledger.ts';\nexport const f = createLedger;", 'v2g/no-package-internals'],
  ['packages/server/src/app.ts', "import { createLedger } from '../../ledger/src/ledger.ts';\nexport const f = createLedger;", 'v2g/no-package-internals'],
  // Resolvers only map: no projection queries, SQL, event store or command handler.
  ['packages/server/src/graphql/schema/directory.ts', "import { listSites } from '@v2g/projection-grid';\nexport const f = listSites;", 'no-restricted-imports'],
  ['packages/server/src/graphql/schema/directory.ts', "export const f = (ctx: any) => ctx.ledger.sql.query('SELECT 1');", 'no-restricted-syntax'],
  ['packages/server/src/graphql/schema/catalogue.ts', "export const f = ({ ledger }: any) => ledger.store.readStream('site-1');", 'no-restricted-syntax'],
  ['packages/server/src/graphql/schema/billing.ts', 'export const f = (ctx: any) => ctx.ledger.commands.load();', 'no-restricted-syntax'],
  ['scripts/bench/rebuild.ts', "import { fillMixed } from '@v2g/testing/src/workloads/mixed-fill.ts';\nexport const f = fillMixed;", 'v2g/no-package-internals'],
  ['projections/grid/src/grid-projection.ts', "import type { Row } from '../../billing/src/billing-rows.ts';\nexport type R = Row;", 'v2g/no-package-internals'],
  ['packages/read-model/src/index.ts', "export * from '../../event-store/src/postgres/postgres-store.ts';", 'v2g/no-package-internals'],
  ['packages/server/test/harness.ts', "export const load = () => import('../../ledger/src/ledger.ts');", 'v2g/no-package-internals'],
  ['scripts/bench/append.ts', "import { parseDecimal } from '../../packages/domain/src/values/index.ts';\nexport const f = parseDecimal;", 'v2g/no-package-internals'],
  ['vitest.config.ts', "import { build } from './packages/server/src/main.ts';\nexport const f = build;", 'v2g/no-package-internals'],
  // Inside a ledger module folder, a sibling module is imported through its index.ts only.
  [MODULE, "import { BillingFacade } from '../billing/billing-facade.ts';\nexport const f = BillingFacade;", 'v2g/module-imports-via-index'],
  [MODULE, "import type { Tariff } from '../billing/tariffs/tariff.ts';\nexport type T = Tariff;", 'v2g/module-imports-via-index'],
  [MODULE, "export { invoiceOf } from '../billing/invoices.ts';", 'v2g/module-imports-via-index'],
  [NESTED_MODULE, "import { SettlementFacade } from '../../settlement/settlement-facade.ts';\nexport const f = SettlementFacade;", 'v2g/module-imports-via-index'],
];

const allowed: [path: string, code: string][] = [
  [DOMAIN, "import Decimal from 'decimal.js';\nexport const d = new Decimal(1);"],
  [DOMAIN, "import { parseDecimal } from '../values/index.ts';\nexport const f = parseDecimal;"],
  [DOMAIN, "export const at = (ms: number) => [new Date(ms).toISOString(), Date.parse('2026-01-01T00:00:00Z'), Date.UTC(2026, 0, 1)];"],
  [DOMAIN_SPEC, "export const runs = Number(process.env['RUNS'] ?? 1) + Date.now() + Math.random() + Number(new Date());"],
  ['packages/domain/test/given.ts', "import { readFileSync } from 'node:fs';\nexport const f = [readFileSync, Date.now()];"],
  ['packages/domain/test/billing-reference/invoice-v1.ts', "import { parseDecimal } from '../../src/values/index.ts';\nexport const f = parseDecimal;"],
  ['projections/billing/src/billing-projection.ts', "import { ProjectionRunner } from '@v2g/read-model';\nexport const f = ProjectionRunner;"],
  ['packages/read-model/src/index.ts', "import { openStore } from '@v2g/event-store';\nimport { Decimal } from '@v2g/domain';\nexport const f = [openStore, Decimal];"],
  ['packages/server/src/app.ts', "import { createLedger } from '@v2g/ledger';\nimport { config } from './config.ts';\nexport const f = [createLedger, config];"],
  ['packages/server/test/projection-rebuild.e2e.spec.ts', "import { fill } from '../../../scripts/bench/lib/mixed-fill.ts';\nexport const f = fill;"],
  [
    'packages/server/src/graphql/schema/directory.ts',
    "import type { GridSiteSummary } from '@v2g/projection-grid';\nexport const f = (ctx: any): Promise<GridSiteSummary[]> => ctx.ledger.grid.readModel.listSites({}, { first: 1 });",
  ],
  ['scripts/bench/rebuild.ts', "import { fillMixed } from '@v2g/testing/workloads';\nexport const f = fillMixed;"],
  [MODULE, "import { BillingFacade } from '../billing/index.ts';\nimport { readings } from './readings/reading-log.ts';\nexport const f = [BillingFacade, readings];"],
  [NESTED_MODULE, "import { SettlementFacade } from '../../settlement/index.ts';\nimport { meter } from '../meter.ts';\nexport const f = [SettlementFacade, meter];"],
  ['packages/ledger/src/ledger.ts', "import { meteringModule } from './modules/metering/index.ts';\nexport const f = meteringModule;"],
];

describe('the import fences of eslint.config.js', () => {
  it.each(refused)('%s: %j is refused by %s', async (path, code, rule) => {
    expect(await fencesBroken(path, code)).toContain(rule);
  });

  it.each(allowed)('%s: %j passes every fence', async (path, code) => {
    expect(await fencesBroken(path, code)).toEqual([]);
  });
});
