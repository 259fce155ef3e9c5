import { randomUUID } from 'node:crypto';
import { connectPostgres, type SqlClient } from '@v2g/event-store';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { tamperEvidenceScenarios } from './tamper-evidence.scenarios.ts';

const url = inject('postgresUrl');
const run = `${process.pid}_${randomUUID().slice(0, 8)}`;

describe.skipIf(url === null)('PostgreSQL server', () => {
  let sql: SqlClient;
  const schemas: string[] = [];
  beforeAll(async () => {
    sql = await connectPostgres(url!, { applicationName: `v2g-tamper-test-${run}` });
  });
  afterAll(async () => {
    for (const schema of schemas) await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  tamperEvidenceScenarios('PostgreSQL server', {
    sql: () => sql,
    freshSchema: () => {
      const schema = `test_tamper_${run}_${schemas.length + 1}`;
      schemas.push(schema);
      return schema;
    },
  });
});
