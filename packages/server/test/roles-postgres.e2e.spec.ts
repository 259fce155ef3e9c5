import { inject } from 'vitest';
import { describeRolesApi } from './roles-api.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeRolesApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
