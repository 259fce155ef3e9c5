import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runLedgerCli, startMain, waitForLine, type ChildServer } from './child-server.ts';

/**
 * PGlite serves one process (issue 12, item 1): while a server has a DATA_DIR, a second server and
 * every CLI command on that folder are refused at once (exit code 3), without opening the store;
 * a second server on a taken port stops before it opens its own; the lock dies with its holder.
 */

const root = mkdtempSync(join(tmpdir(), 'v2g-lock-'));
const dataDir = join(root, 'data');
const messages = (running: ChildServer) => running.lines.map((l) => String(l.msg));

describe('one process per PGlite data folder', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a second server and CLI commands while the server runs, and frees the folder when the server is killed', async () => {
    const port = await freePort();
    const first = startMain({ PORT: String(port), DATA_DIR: dataDir });
    try {
      await waitForLine(first, `listening on http://localhost:${port}`, 60_000);

      // A second server on the same folder: refused before it opens anything, naming the holder.
      const second = startMain({ PORT: String(await freePort()), DATA_DIR: dataDir });
      expect(await second.exit).toBe(3);
      expect(second.stdout()).toContain(`is in use by the ledger server (pnpm start) (pid ${first.child.pid}`);
      expect(messages(second)).not.toContain('ledger opened');

      // A second server on the same port: it stops before it opens (or creates) its own folder.
      const elsewhere = join(root, 'never-created');
      const samePort = startMain({ PORT: String(port), DATA_DIR: elsewhere });
      expect(await samePort.exit).toBe(3);
      expect(samePort.stdout()).toContain(`port ${port} is in use by another process`);
      expect(existsSync(elsewhere)).toBe(false);

      // Commands that write and commands that read are refused, each saying what to do instead.
      const create = await runLedgerCli(['apikey', 'create', '--role', 'operator', '--name', 'while serving'], { DATA_DIR: dataDir });
      expect(create.code, create.stderr).toBe(3);
      expect(create.stdout).toBe('');
      expect(create.stderr).toContain(`in use by the ledger server (pnpm start) (pid ${first.child.pid}`);
      expect(create.stderr).toContain('createApiKey');
      const verify = await runLedgerCli(['verify'], { DATA_DIR: dataDir });
      expect(verify.code, verify.stderr).toBe(3);
      expect(verify.stderr).toContain('DATABASE_URL');

      // The refused processes left the first server's lock alone: still refused, still serving.
      expect((await runLedgerCli(['apikey', 'list'], { DATA_DIR: dataDir })).code).toBe(3);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

      // SIGKILL: nothing cleans up, the kernel frees the lock.
      first.child.kill('SIGKILL');
      await first.exit;
      const listed = await runLedgerCli(['apikey', 'list'], { DATA_DIR: dataDir });
      expect(listed.code, listed.stderr).toBe(0);
    } finally {
      first.child.kill('SIGKILL');
    }
  }, 180_000); // three PGlite opens and a handful of child processes on a busy machine
});
