import { openPglite, type SqlClient } from '@v2g/event-store';
import { afterAll, beforeAll, describe } from 'vitest';
import { tamperEvidenceScenarios } from './tamper-evidence.scenarios.ts';

describe('PGlite', () => {
  // One in-memory instance for the file (PGlite takes seconds and hundreds of MB to open); a schema per test.
  let sql: SqlClient;
  let n = 0;
  beforeAll(async () => {
    sql = await openPglite(undefined);
  });
  afterAll(async () => {
    await sql?.close();
  });

  tamperEvidenceScenarios('PGlite', { sql: () => sql, freshSchema: () => `tamper_${++n}` });
});
