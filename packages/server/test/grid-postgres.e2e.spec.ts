import { inject } from 'vitest';
import { describeGridApi } from './grid-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeGridApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
