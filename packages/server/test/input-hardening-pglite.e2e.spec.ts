import { describeInputHardening } from './input-hardening.scenarios.ts';

describeInputHardening('PGlite (in memory)', { databaseUrl: null });
