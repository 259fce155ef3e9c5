import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../src/postgres/pglite-client.ts';
import { templateFile } from '../src/postgres/pglite-template.ts';

/**
 * A fresh data folder starts from the kept dump of a fresh cluster (pglite-template.ts), not from an
 * initdb: each folder is still its own database, and a dump that does not load is replaced.
 */
describe('PGlite: fresh data folders from a kept dump', () => {
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

  const write = async (dataDir: string, value: string) => {
    const sql = await openPglite(dataDir);
    try {
      await sql.query('CREATE TABLE IF NOT EXISTS mark (value text)');
      await sql.query('INSERT INTO mark VALUES ($1)', [value]);
    } finally {
      await sql.close();
    }
  };
  const read = async (dataDir: string) => {
    const sql = await openPglite(dataDir);
    try {
      return (await sql.query<{ value: string }>('SELECT value FROM mark ORDER BY value')).rows.map((r) => r.value);
    } finally {
      await sql.close();
    }
  };

  it('keeps a dump after the first initdb, starts later folders from it, each its own database', async () => {
    const template = templateFile();
    expect(template.startsWith(join(root, 'cache', 'v2g-ledger'))).toBe(true);
    expect(existsSync(template)).toBe(false);
    await write(join(root, 'a'), 'a');
    expect(statSync(template).size).toBeGreaterThan(1_000_000);
    const kept = readFileSync(template);
    await write(join(root, 'b'), 'b');
    expect(await read(join(root, 'a'))).toEqual(['a']);
    expect(await read(join(root, 'b'))).toEqual(['b']);
    // Starting from the dump left it as it was: no folder's data leaks into the next one.
    expect(readFileSync(template).equals(kept)).toBe(true);
  }, 120_000);

  it('ignores a dump that does not load: the folder is initialised, and the dump made again', async () => {
    const template = templateFile();
    writeFileSync(template, 'not a tarball');
    await write(join(root, 'c'), 'c');
    expect(await read(join(root, 'c'))).toEqual(['c']);
    expect(statSync(template).size).toBeGreaterThan(1_000_000);
  }, 120_000);
});
