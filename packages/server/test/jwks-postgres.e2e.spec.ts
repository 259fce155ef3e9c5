import { inject } from 'vitest';
import { describeJwks } from './jwks.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeJwks('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
