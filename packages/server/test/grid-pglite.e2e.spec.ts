import { describeGridApi } from './grid-api.scenarios.ts';

describeGridApi('PGlite (in memory)', { databaseUrl: null });
