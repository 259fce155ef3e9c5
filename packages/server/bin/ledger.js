#!/usr/bin/env node
// The `ledger` command (bin of @v2g/server, and `pnpm ledger`): the compiled CLI (packages/server/dist,
// see build.mjs), rebuilt first when a source is newer than the build. Each command's code is
// loaded only when it runs; see packages/server/src/cli/run.ts for the commands.
import { pathToFileURL } from 'node:url';
import { ensureBuilt } from '../build.mjs';

await import(pathToFileURL(await ensureBuilt('ledger')).href);
