import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.mjs';
import { freePort, runCommand, startMain, waitForLine } from './child-server.ts';
import { postGraphQL, REGISTER_SITE, TEST_OPERATOR_KEY, type RegisterResult } from './harness.ts';

/**
 * The compiled build `pnpm start` and `pnpm ledger` run (build.mjs bundles src into dist): built
 * into a folder of its own at dist's depth, then used as a user would, on a fresh PGlite folder.
 */
const SERVER = fileURLToPath(new URL('../', import.meta.url));
const outdir = join(SERVER, `dist-test-${process.pid}`);
const dataDir = mkdtempSync(join(tmpdir(), 'v2g-compiled-'));

describe('the compiled build', () => {
  beforeAll(async () => {
    await build(outdir);
  }, 120_000);
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints both helps without opening a store', async () => {
    const start = await runCommand(process.execPath, [join(outdir, 'main.js'), '--help'], { DATA_DIR: join(dataDir, 'never') });
    expect(start).toMatchObject({ code: 0, stderr: '' });
    expect(start.stdout).toContain('Usage: pnpm start');
    const ledger = await runCommand(process.execPath, [join(outdir, 'ledger.js'), '--help'], { DATA_DIR: join(dataDir, 'never') });
    expect(ledger).toMatchObject({ code: 0, stderr: '' });
    expect(ledger.stdout).toMatch(/Commands:\n {2}verify/);
    expect(existsSync(join(dataDir, 'never')), 'no data folder was created').toBe(false);
  }, 60_000);

  it('serves GraphQL on a fresh PGlite folder, stops on SIGTERM, and its CLI then reads that folder', async () => {
    const port = await freePort();
    const running = startMain({ PORT: String(port), DATA_DIR: dataDir }, [], [join(outdir, 'main.js')]);
    try {
      await waitForLine(running, `listening on http://localhost:${port}`, 90_000);
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const { body } = await postGraphQL<RegisterResult>(url, REGISTER_SITE, {
        input: { commandId: 'compiled-1', siteId: 'compiled1', name: 'Compiled', importLimitW: '1000', exportLimitW: '0' },
      });
      expect(body.data!.registerSite.__typename).toBe('RegisterSitePayload');
      running.child.kill('SIGTERM');
      expect(await running.exit).toBe(0);
    } finally {
      running.child.kill('SIGKILL');
    }
    const keys = await runCommand(process.execPath, [join(outdir, 'ledger.js'), 'apikey', 'list'], { DATA_DIR: dataDir });
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout).toContain(TEST_OPERATOR_KEY.split('_')[1]!);
    const verify = await runCommand(process.execPath, [join(outdir, 'ledger.js'), 'verify'], { DATA_DIR: dataDir });
    expect(verify.code, verify.stderr).toBe(0);
  }, 180_000);
});
