import { inject } from 'vitest';
import { describeAsOfReplay } from './as-of-replay.scenarios.ts';

const postgresUrl = inject('postgresUrl');
describeAsOfReplay('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });
