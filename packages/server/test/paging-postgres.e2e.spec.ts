import { inject } from 'vitest';
import { describePagingApi } from './paging-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describePagingApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
