import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh PGlite data folder costs an initdb in WebAssembly (about 6 s on a 2-core machine);
 * restoring a dump of a freshly initialised cluster costs about 2 s. The first fresh folder a
 * machine creates is initialised the slow way and its dump kept in the user's cache
 * ($XDG_CACHE_HOME or ~/.cache, v2g-ledger/); every later fresh folder starts from that dump. The
 * dump is named after the PGlite build it came from, so another PGlite version never reads it, and
 * a dump that does not load is ignored (the folder is initialised the slow way and the dump made again).
 */

/** Where the dump of a fresh cluster of this PGlite build is kept. */
export function templateFile(): string {
  const build = createHash('sha256').update(import.meta.resolve('@electric-sql/pglite')).digest('hex').slice(0, 16);
  const cache = process.env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(cache, 'v2g-ledger', `pglite-template-${build}.tar.gz`);
}

/** A folder PGlite would initialise: missing or empty. */
export function isFreshDataDir(dataDir: string): boolean {
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

/** The dump to start a fresh folder from, if one was kept. */
export function readTemplate(file: string): Blob | null {
  try {
    return existsSync(file) ? new Blob([readFileSync(file)]) : null;
  } catch {
    return null;
  }
}

/** Keeps a dump for the next fresh folder: written aside, then renamed, so a reader never sees half of one. */
export async function keepTemplate(file: string, dump: Blob): Promise<void> {
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    const partial = `${file}.${randomUUID()}.partial`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
  } catch {
    // A cache only: without it the next fresh folder is initialised the slow way.
  }
}
