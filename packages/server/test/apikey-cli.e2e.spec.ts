import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runLedgerCli, startMain, waitForLine } from './child-server.ts';
import { ANONYMOUS, bearer, openAccounts, postGraphQL } from './harness.ts';

/**
 * A fresh install, as the README tells it: the server says nobody can sign in yet; `pnpm ledger
 * apikey create --role operator` (server stopped, PGlite) prints a key once; with it the server
 * answers, without it 401; GraphiQL opens with an Authorization header to fill in.
 */

const root = mkdtempSync(join(tmpdir(), 'v2g-apikey-'));
const dataDir = join(root, 'data'); // does not exist yet: a fresh machine
const ledger = (args: string[]) => runLedgerCli(args, { DATA_DIR: dataDir });

async function serve(): Promise<{ url: string; stop: () => Promise<void>; running: ReturnType<typeof startMain> }> {
  const port = await freePort();
  const running = startMain({ PORT: String(port), DATA_DIR: dataDir, AUTH_BOOTSTRAP_OPERATOR_KEY: '' });
  await waitForLine(running, `listening on http://localhost:${port}`, 60_000);
  return {
    url: `http://127.0.0.1:${port}`,
    running,
    stop: async () => {
      running.child.kill('SIGTERM');
      expect(await running.exit).toBe(0);
    },
  };
}

describe('ledger apikey (a fresh install)', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses bad usage with exit code 2', async () => {
    expect(await ledger(['apikey', 'create', '--role', 'trader', '--name', 'x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('a trader key needs --subject <traderId>'),
    });
    expect(await ledger(['apikey', 'create', '--role', 'root', '--name', 'x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--role must be one of operator') });
    expect(await ledger(['apikey', 'rotate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown action "rotate"') });
    // A fleet manager's or driver's subject must be an account the ledger knows: none is yet.
    expect(await ledger(['apikey', 'create', '--role', 'driver', '--subject', 'cust-nobody', '--name', 'x'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringContaining('--subject cust-nobody: no customer account cust-nobody is known; assign it a tariff first'),
    });
    expect(await ledger(['apikey', 'create', '--role', 'fleet_manager', '--subject', 'fleet-nobody', '--name', 'x'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringContaining('--subject fleet-nobody: no fleet account fleet-nobody is known'),
    });
    expect(await ledger(['apikey', 'list'])).toMatchObject({ code: 0, stdout: expect.stringContaining('no API keys yet') });
  }, 120_000);

  it('gets the first operator key from the CLI; the server takes it, and nothing else', async () => {
    const empty = await serve();
    await waitForLine(empty.running, /no active operator API key yet/);
    expect((await postGraphQL(empty.url, '{ projections { name } }', {}, ANONYMOUS)).status).toBe(401);
    await empty.stop();

    const created = await ledger(['apikey', 'create', '--role', 'operator', '--name', 'first operator']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^v2g_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('This is the only time it is shown');
    const listed = await ledger(['apikey', 'list']);
    expect(listed.stdout).toMatch(/operator\s+-\s+active/);
    expect(listed.stdout).not.toContain(key.split('_').slice(2).join('_'));

    const server = await serve();
    try {
      expect(server.running.lines.some((l) => /no active operator API key/.test(String(l.msg)))).toBe(false);
      const answered = await postGraphQL<any>(server.url, '{ apiKeys { keyId role name createdBy } }', {}, bearer(key));
      expect(answered.status).toBe(200);
      expect(answered.body.data.apiKeys).toMatchObject([{ role: 'OPERATOR', name: 'first operator', createdBy: expect.stringMatching(/^cli:/) }]);
      expect((await postGraphQL(server.url, '{ apiKeys { keyId } }', {}, ANONYMOUS)).status).toBe(401);
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Bearer v2g_<keyId>_<secret>');
      expect(server.running.stdout()).not.toContain(key);
      // assignTariff opens a customer's account: from then on a driver key can act for it.
      await openAccounts({ gql: (query, variables, headers) => postGraphQL(server.url, query, variables, { ...bearer(key), ...headers }) }, 'cust-known');
    } finally {
      await server.stop();
    }

    const keyId = key.split('_')[1]!;
    expect(await ledger(['apikey', 'revoke', keyId, '--reason', 'done'])).toMatchObject({ code: 0, stdout: `API key ${keyId} revoked\n` });
    expect(await ledger(['apikey', 'revoke', 'nosuchkey'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no API key nosuchkey') });
    const driver = await ledger(['apikey', 'create', '--role', 'driver', '--subject', 'cust-known', '--name', 'a driver']);
    expect(driver.code, driver.stderr).toBe(0);
    expect(driver.stderr).toContain('(driver for cust-known) created');
    expect((await ledger(['apikey', 'list'])).stdout).toMatch(/driver\s+cust-known\s+active/);
  }, 180_000);
});
