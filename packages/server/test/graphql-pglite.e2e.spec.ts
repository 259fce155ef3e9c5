import { describeGraphQLApi } from './graphql-api.scenarios.ts';

describeGraphQLApi('PGlite (in memory)', { databaseUrl: null });
