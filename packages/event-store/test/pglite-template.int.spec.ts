import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from '../src/postgres/migrations.ts';
import { openPglite } from '../src/postgres/pglite-client.ts';
import { templateDir } from '../src/postgres/pglite-template.ts';

/** Every file of a folder and its content, hashed: equal only when nothing in it changed. */
function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    for (const entry of readdirSync(path).sort()) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else hash.update(`${relative(dir, full)}\0`).update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/**
 * A fresh data folder is a copy of a kept template (pglite-template.ts), not an initdb: a plain
 * cluster, or one with the event store's schema migrated when openPglite is told the schema. Each
 * folder is still its own database; a template is used only for what made it; one that does not
 * open is replaced.
 */
describe('PGlite: fresh data folders from a kept template', () => {
  const root = mkdtempSync(join(tmpdir(), 'v2g-template-'));
  const savedCache = process.env.XDG_CACHE_HOME;
  beforeAll(() => {
    process.env.XDG_CACHE_HOME = join(root, 'cache');
  });
  afterAll(() => {
    if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedCache;
    rmSync(root, { recursive: true, force: true });
  });

  const write = async (dataDir: string, value: string, schema?: string) => {
    const sql = await openPglite(dataDir, schema ? { schema } : {});
    try {
      await sql.query('CREATE TABLE IF NOT EXISTS mark (value text)');
      await sql.query('INSERT INTO mark VALUES ($1)', [value]);
    } finally {
      await sql.close();
    }
  };
  const query = async <T>(dataDir: string, text: string) => {
    const sql = await openPglite(dataDir);
    try {
      return (await sql.query(text)).rows as T[];
    } finally {
      await sql.close();
    }
  };
  const read = async (dataDir: string) => (await query<{ value: string }>(dataDir, 'SELECT value FROM mark ORDER BY value')).map((r) => r.value);
  const schemas = async (dataDir: string) =>
    (await query<{ nspname: string }>(dataDir, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`)).map(
      (r) => r.nspname,
    );

  it('keeps a template after the first initdb, starts later folders from it, each its own database', async () => {
    const template = templateDir();
    expect(template.startsWith(join(root, 'cache', 'v2g-ledger'))).toBe(true);
    expect(existsSync(template)).toBe(false);
    await write(join(root, 'a'), 'a');
    expect(existsSync(join(template, 'PG_VERSION'))).toBe(true);
    const kept = treeHash(template);
    await write(join(root, 'b'), 'b');
    expect(await read(join(root, 'a'))).toEqual(['a']);
    expect(await read(join(root, 'b'))).toEqual(['b']);
    // Starting from the template left it as it was: no folder's data leaks into the next one.
    expect(treeHash(template)).toBe(kept);
    expect(await schemas(join(root, 'b')), 'a plain cluster: no event store schema').toEqual(['public']);
    expect(
      readdirSync(join(root, 'cache', 'v2g-ledger')).filter((f) => /partial|broken/.test(f)),
      'no work folder left',
    ).toEqual([]);
  }, 180_000);

  it('with a schema: the folder starts with the event store migrated, from a template of that schema only', async () => {
    const v2g = templateDir('v2g');
    expect(v2g).not.toBe(templateDir());
    expect(v2g).not.toBe(templateDir('other'));
    const before = Date.now();
    await write(join(root, 's1'), 's1', 'v2g');
    expect(existsSync(v2g)).toBe(true);
    const kept = treeHash(v2g);
    await write(join(root, 's2'), 's2', 'v2g');
    expect(treeHash(v2g)).toBe(kept);
    expect(await schemas(join(root, 's2'))).toEqual(['public', 'v2g']);
    expect(await read(join(root, 's2'))).toEqual(['s2']);
    // Nothing left for the store's own migrate() to do, and the migrations say when this folder got them.
    const sql = await openPglite(join(root, 's2'));
    try {
      expect(await migrate(sql, 'v2g')).toEqual([]);
      const { rows } = await sql.query<{ version: number; applied_at: Date }>('SELECT version, applied_at FROM v2g.schema_migrations ORDER BY version');
      expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
      for (const row of rows) expect(new Date(row.applied_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
      await sql.query(`SELECT count(*) FROM v2g.events`);
    } finally {
      await sql.close();
    }
    // Another DB_SCHEMA: a template of its own, holding that schema and not v2g's.
    await write(join(root, 'o1'), 'o1', 'other');
    expect(existsSync(templateDir('other'))).toBe(true);
    expect(await schemas(join(root, 'o1'))).toEqual(['other', 'public']);
  }, 180_000);

  it('a template is named after the migrations that made it: other migrations never use it', () => {
    const current = templateDir('v2g');
    expect(templateDir('v2g', MIGRATIONS.slice(0, -1))).not.toBe(current);
    const changed = MIGRATIONS.map((m, i) =>
      i === MIGRATIONS.length - 1 ? { ...m, statements: (names: Parameters<typeof m.statements>[0]) => [...m.statements(names), 'SELECT 1'] } : m,
    );
    expect(templateDir('v2g', changed)).not.toBe(current);
    expect(templateDir('v2g', [...MIGRATIONS])).toBe(current);
  });

  it('replaces a template that does not open: the folder is still made, and the template made again', async () => {
    for (const schema of [undefined, 'v2g']) {
      const template = templateDir(schema);
      expect(existsSync(template)).toBe(true);
      writeFileSync(join(template, 'global', 'pg_control'), Buffer.alloc(8192));
      writeFileSync(join(template, 'PG_VERSION'), 'not a version\n');
      const dataDir = join(root, `corrupt-${schema ?? 'cluster'}`);
      await write(dataDir, 'c', schema);
      expect(await read(dataDir)).toEqual(['c']);
      expect(readFileSync(join(template, 'PG_VERSION'), 'utf8')).toMatch(/^\d+\n$/);
      // The remade template serves the next folder.
      await write(join(root, `after-${schema ?? 'cluster'}`), 'd', schema);
      expect(await read(join(root, `after-${schema ?? 'cluster'}`))).toEqual(['d']);
    }
  }, 300_000);
});
