import { inject } from 'vitest';
import { describeMeteringApi } from './metering-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeMeteringApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
