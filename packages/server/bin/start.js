#!/usr/bin/env node
// `pnpm start`: the compiled server (packages/server/dist, see build.mjs), rebuilt first when a
// source is newer than the build. `--help` loads only the usage text.
import { pathToFileURL } from 'node:url';
import { ensureBuilt } from '../build.mjs';

await import(pathToFileURL(await ensureBuilt('main')).href);
