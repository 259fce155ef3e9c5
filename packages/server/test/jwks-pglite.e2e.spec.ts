import { describeJwks } from './jwks.scenarios.ts';

describeJwks('PGlite (in memory)', { databaseUrl: null });
