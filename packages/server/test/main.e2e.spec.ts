import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startMain, waitForLine } from './child-server.ts';
import { postGraphQL, REGISTER_SITE, type RegisterResult } from './harness.ts';

/** The real entry point as `pnpm start` runs it: configuration, start, serve, SIGTERM. */

const dataDir = mkdtempSync(join(tmpdir(), 'v2g-main-'));

describe('main (pnpm start)', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves on PORT with PGlite in DATA_DIR, then shuts down on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const running = startMain({ PORT: String(port), DATA_DIR: dataDir });
    try {
      await waitForLine(running, `listening on http://localhost:${port}`, 60_000);
      expect(running.lines.map((l) => l.msg)).toContain(`GraphiQL at http://localhost:${port}/graphql`);
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const { body } = await postGraphQL<RegisterResult>(url, REGISTER_SITE, {
        input: { commandId: 'main-e2e-1', siteId: 'main1', name: 'Main', importLimitW: '1', exportLimitW: '0' },
      });
      expect(body.data!.registerSite.__typename).toBe('RegisterSitePayload');

      running.child.kill('SIGTERM');
      expect(await running.exit).toBe(0);
      const messages = running.lines.map((l) => l.msg);
      expect(messages).toEqual(expect.arrayContaining(['shutting down: no new connections, waiting for requests in flight', 'projection stopped', 'shutdown complete']));
      expect(messages.indexOf('shutdown complete')).toBe(messages.length - 1);
    } finally {
      running.child.kill('SIGKILL');
    }
  }, 60_000); // a fresh PGlite data folder is initialised first: seconds on a busy machine

  it('exits with code 2 and names the variable when the configuration is bad', async () => {
    const running = startMain({ PORT: '70000', DATA_DIR: dataDir });
    expect(await running.exit).toBe(2);
    expect(running.stderr()).toContain('configuration error: PORT must be from 1 to 65535, not 70000');
  });

  it('prints its configuration variables and exit codes with --help, and exits 0', async () => {
    const running = startMain({}, ['--help']);
    expect(await running.exit).toBe(0);
    const usage = running.stdout();
    for (const variable of ['DATABASE_URL', 'DATA_DIR', 'EVENTSTORE_URL', 'PORT', 'LOG_LEVEL', 'READY_MAX_LAG']) expect(usage).toContain(variable);
    expect(usage).toContain('2 bad configuration');
  });
});
