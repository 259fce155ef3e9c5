import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUse, openPglite } from '../src/index.ts';

/** A PGlite folder is locked while open (data-dir-lock.ts); the child-process cases are in packages/server/test/data-dir-lock.e2e.spec.ts. */

const dataDir = mkdtempSync(join(tmpdir(), 'v2g-pglite-lock-'));

describe('openPglite locks its data folder', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a second open of the same folder, naming the holder, and opens again once closed', async () => {
    const first = await openPglite(dataDir, { holder: 'the first opener' });
    try {
      const refused = await openPglite(dataDir, { holder: 'the second' }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(DataDirInUse);
      expect((refused as DataDirInUse).holder).toMatchObject({ pid: process.pid, holder: 'the first opener' });
      expect((refused as DataDirInUse).code).toBe('DATA_DIR_IN_USE');
    } finally {
      await first.close();
    }
    const again = await openPglite(join(dataDir, '.'), { holder: 'the third' }); // the same folder by another path
    await again.close();
  }, 60_000);
});
