import { describeBillingApi } from './billing-api.scenarios.ts';

describeBillingApi('PGlite (in memory)', { databaseUrl: null });
