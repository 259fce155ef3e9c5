import { describePagingApi } from './paging-api.scenarios.ts';

describePagingApi('PGlite (in memory)', { databaseUrl: null });
