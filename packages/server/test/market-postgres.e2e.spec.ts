import { inject } from 'vitest';
import { describeMarketApi } from './market-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeMarketApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
