import { inject } from 'vitest';
import { describeSettlementApi } from './settlement-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeSettlementApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
