import { describeSettlementApi } from './settlement-api.scenarios.ts';

describeSettlementApi('PGlite (in memory)', { databaseUrl: null });
