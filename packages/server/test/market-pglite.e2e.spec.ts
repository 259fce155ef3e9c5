import { describeMarketApi } from './market-api.scenarios.ts';

describeMarketApi('PGlite (in memory)', { databaseUrl: null });
