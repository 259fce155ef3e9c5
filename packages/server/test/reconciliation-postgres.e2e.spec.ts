import { inject } from 'vitest';
import { describeReconciliationApi } from './reconciliation-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeReconciliationApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
