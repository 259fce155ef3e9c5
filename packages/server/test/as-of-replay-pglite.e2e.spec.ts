import { describeAsOfReplay } from './as-of-replay.scenarios.ts';

describeAsOfReplay('PGlite (in memory)', { databaseUrl: null });
