import { createHash, randomUUID } from 'node:crypto';
import { constants, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { migrate, MIGRATIONS, schemaNames, type Migration } from './migrations.ts';
import type { SqlClient } from './sql-client.ts';

/**
 * A fresh PGlite data folder costs an initdb in WebAssembly (about 6 s on a 2-core machine), and
 * then the event store's migrations, one statement at a time (about 1 s). Instead, a fresh folder
 * is a copy of a kept template: a closed PGlite cluster on which those migrations have run, kept in
 * the user's cache ($XDG_CACHE_HOME or ~/.cache, v2g-ledger/). Copying the folder is done by Node
 * (milliseconds); PGlite then opens it as it opens any folder it has used before.
 *
 * A template is named after what made it: the PGlite build, and, when it holds the event store's
 * schema, that schema's name and the SQL of every migration. Another PGlite version, another
 * DB_SCHEMA or a changed migration never use it: they make (and keep) a template of their own.
 * The first fresh folder of each kind makes its template the slow way, in a folder of its own that
 * is renamed into place once closed, so a reader never sees half of one; a template that does not
 * open is deleted and made again.
 */

/** Where the template for this PGlite build is kept; with `schema`, one with that schema migrated (by `migrations`, the store's). */
export function templateDir(schema?: string, migrations: readonly Migration[] = MIGRATIONS): string {
  const hash = createHash('sha256').update(import.meta.resolve('@electric-sql/pglite'));
  if (schema !== undefined) {
    const names = schemaNames(schema);
    hash.update(`\0${schema}`);
    for (const migration of migrations) hash.update(`\0${migration.version}\0${migration.name}\0${migration.statements(names).join('\0')}`);
  }
  const cache = process.env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(cache, 'v2g-ledger', `pglite-template-${schema ?? 'cluster'}-${hash.digest('hex').slice(0, 16)}`);
}

/** A folder PGlite would initialise: missing or empty. */
export function isFreshDataDir(dataDir: string): boolean {
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

/** Empties a folder, keeping the folder itself (its lock names it). */
export function emptyDir(dir: string): void {
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

/** Copies a kept template into the empty `dataDir`; false when there is none. */
export function copyTemplate(template: string, dataDir: string): boolean {
  if (!existsSync(template)) return false;
  // A copy-on-write clone where the file system offers one, else a plain copy.
  cpSync(template, dataDir, { recursive: true, mode: constants.COPYFILE_FICLONE });
  return true;
}

/** Removes a template that did not open: the next fresh folder makes it again. */
export function dropTemplate(template: string): void {
  const doomed = `${template}.${randomUUID()}.broken`;
  try {
    renameSync(template, doomed);
    rmSync(doomed, { recursive: true, force: true });
  } catch {
    // Someone else dropped or replaced it.
  }
}

/** Opens a PGlite client on a folder of the cache (no lock: the folder is this process's own). */
export type OpenTemplate = (dir: string) => Promise<SqlClient>;

/**
 * Makes the template: a cluster initialised in a folder of its own (a copy of the plain cluster's
 * template when `schema` is given), the schema migrated, closed, then renamed into place. When
 * another process was quicker, its template is kept and this one discarded.
 */
export async function makeTemplate(open: OpenTemplate, schema?: string): Promise<void> {
  const template = templateDir(schema);
  const cache = join(template, '..');
  mkdirSync(cache, { recursive: true });
  // What a process killed while making one left behind.
  for (const entry of readdirSync(cache)) {
    const path = join(cache, entry);
    if (/\.(partial|broken)$/.test(entry) && Date.now() - statSync(path).mtimeMs > 600_000) rmSync(path, { recursive: true, force: true });
  }
  const partial = `${template}.${randomUUID()}.partial`;
  try {
    mkdirSync(partial);
    let sql: SqlClient | null = null;
    if (schema !== undefined) {
      const base = templateDir();
      if (!existsSync(base)) await makeTemplate(open);
      copyTemplate(base, partial);
      sql = await open(partial).catch(() => {
        // The plain cluster's template does not open: made again by the next fresh folder; this one initialises.
        dropTemplate(base);
        emptyDir(partial);
        return null;
      });
    }
    sql ??= await open(partial);
    try {
      if (schema !== undefined) await migrate(sql, schema);
    } finally {
      await sql.close();
    }
    try {
      renameSync(partial, template);
    } catch (error) {
      // ENOTEMPTY/EEXIST: another process kept one first, which is as good.
      if (!existsSync(template)) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}
