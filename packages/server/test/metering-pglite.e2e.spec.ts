import { describeMeteringApi } from './metering-api.scenarios.ts';

describeMeteringApi('PGlite (in memory)', { databaseUrl: null });
