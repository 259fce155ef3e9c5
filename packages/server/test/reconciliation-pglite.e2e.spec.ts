import { describeReconciliationApi } from './reconciliation-api.scenarios.ts';

describeReconciliationApi('PGlite (in memory)', { databaseUrl: null });
