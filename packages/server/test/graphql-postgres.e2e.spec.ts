import { inject } from 'vitest';
import { describeGraphQLApi } from './graphql-api.scenarios.ts';

// A schema of its own on the server (created by the store, dropped when the file ends).
const postgresUrl = inject('postgresUrl');
describeGraphQLApi('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
