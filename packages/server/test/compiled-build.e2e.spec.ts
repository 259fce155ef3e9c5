import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * What loading a compiled module loads before any of its code runs: its static imports (esbuild
 * writes them as `import … from "…"` / `import "…"` lines), followed through the build's own
 * chunks. Returns the chunks and the other specifiers (packages, node: builtins) reached.
 */
function staticGraph(file: string): { chunks: string[]; external: string[] } {
  const chunks = new Set<string>();
  const external = new Set<string>();
  const visit = (path: string) => {
    if (chunks.has(path)) return;
    chunks.add(path);
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/^(?:import|export)\s(?:[^;'"]*?\sfrom\s)?["']([^"']+)["']/gm)) {
      if (specifier!.startsWith('./')) visit(join(path, '..', specifier!));
      else external.add(specifier!);
    }
  };
  visit(file);
  return { chunks: [...chunks], external: [...external] };
}

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

  it('loads no package (no store driver, no ledger) before a help is printed', () => {
    for (const entry of ['main.js', 'ledger.js']) {
      const { chunks, external } = staticGraph(join(outdir, entry));
      expect(
        external.filter((specifier) => !specifier.startsWith('node:')),
        entry,
      ).toEqual([]);
      const bytes = chunks.reduce((sum, chunk) => sum + readFileSync(chunk).length, 0);
      // The usage texts and the argument parser: tens of kB, where the store alone bundles close to 1 MB.
      expect(bytes, `${entry}: ${chunks.join(', ')}`).toBeLessThan(100_000);
    }
    // The graph is read as written: a command's module does import the store.
    expect(
      staticGraph(
        join(
          outdir,
          readdirSync(outdir).find((f) => /^verify-.*\.js$/.test(f))!,
        ),
      ).external,
    ).toContain('pg');
  });

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
