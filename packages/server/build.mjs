// The compiled build: packages/server/src (and the workspace packages it imports) bundled by
// esbuild into packages/server/dist, so that `pnpm start` and `pnpm ledger` run plain JavaScript
// instead of transpiling a few hundred TypeScript files at every start. `pnpm build` writes it;
// the launchers in bin/ rebuild it first when a source is newer than the build (a few hundred ms).
//
// dist sits at the same depth as src, so paths a module computes from import.meta.url (the event
// schemas in schemas/events) point where they did. Packages that load files of their own (PGlite's
// wasm, pino's transports) or native modules stay external: Node loads them from node_modules.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(SERVER, '..', '..');
export const DIST = join(SERVER, 'dist');
const ENTRY_POINTS = { main: join(SERVER, 'src', 'main.ts'), ledger: join(SERVER, 'src', 'cli', 'main.ts') };
const EXTERNAL = ['@electric-sql/pglite', '@eventstore/db-client', 'pino', 'pino-pretty', 'pg', 'pg-native'];
/** What the build is made of: when any of it is newer than the build, the build is stale. */
const SOURCES = ['packages', 'projections'].flatMap((dir) => readdirSync(join(ROOT, dir)).flatMap((pkg) => [join(ROOT, dir, pkg, 'src'), join(ROOT, dir, pkg, 'package.json')]));
const STAMP = join(DIST, 'main.js');

function newestMtimeMs(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) if (!entry.endsWith('.spec.ts')) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** True when dist is missing or older than a source file. */
export function isStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return SOURCES.some((source) => newestMtimeMs(source) > built);
}

/** Bundles main.js (pnpm start) and ledger.js (pnpm ledger) into `outdir`, a folder of packages/server. */
export async function build(outdir = DIST) {
  const { build: esbuild } = await import('esbuild');
  await esbuild({
    entryPoints: ENTRY_POINTS,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    external: EXTERNAL,
    // Bundled CommonJS (express, graphql-yoga's deps) calls require for Node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

/** Builds when stale; returns the path of an entry point's compiled module. */
export async function ensureBuilt(entry) {
  if (isStale()) await build();
  return join(DIST, `${entry}.js`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  await build();
  process.stderr.write(`built ${DIST} in ${Math.round(performance.now() - started)} ms\n`);
}
