import { describeErrorsAndLogs } from './errors-and-logs.scenarios.ts';

describeErrorsAndLogs('PGlite (in memory)', { databaseUrl: null });
