import { pgliteForFile } from '@v2g/testing';
import { describe } from 'vitest';
import { tamperEvidenceScenarios } from './tamper-evidence.scenarios.ts';

describe('PGlite', () => {
  // One in-memory instance for the file; a schema per test.
  let n = 0;
  tamperEvidenceScenarios('PGlite', { sql: pgliteForFile(), freshSchema: () => `tamper_${++n}` });
});
