import { inject } from 'vitest';
import { describeBillingApi } from './billing-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeBillingApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
