#!/usr/bin/env node
// The `ledger` command (bin of @v2g/server): runs the TypeScript CLI through tsx, with no build
// step, as `pnpm start` and `pnpm ledger` do. See packages/server/src/cli/run.ts for the commands.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
