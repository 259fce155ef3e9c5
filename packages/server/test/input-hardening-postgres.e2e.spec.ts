import { inject } from 'vitest';
import { describeInputHardening } from './input-hardening.scenarios.ts';

// A schema of its own on the server (created by the store, dropped when the file ends).
const postgresUrl = inject('postgresUrl');
describeInputHardening('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
