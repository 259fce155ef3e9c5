import { describeRolesApi } from './roles-api.scenarios.ts';

describeRolesApi('PGlite (in memory)', { databaseUrl: null });
