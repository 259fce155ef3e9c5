import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { postGraphQL, REGISTER_SITE, type LogLine, type RegisterResult } from './harness.ts';

/** The real entry point as `pnpm start` runs it: configuration, start, serve, SIGTERM. */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'v2g-main-'));

type Running = { child: ChildProcess; lines: LogLine[]; stderr: () => string; exit: Promise<number | null> };

function startMain(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', DATABASE_URL: '', EVENTSTORE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as LogLine);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exit };
}

async function waitForLine(running: Running, msg: string | RegExp, timeoutMs = 30_000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = running.lines.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
    if (line) return line;
    if (Date.now() > deadline || running.child.exitCode !== null) {
      throw new Error(`no log line ${String(msg)}; stdout: ${JSON.stringify(running.lines)}; stderr: ${running.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('main (pnpm start)', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves on PORT with PGlite in DATA_DIR, then shuts down on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const running = startMain({ PORT: String(port), DATA_DIR: dataDir });
    try {
      await waitForLine(running, `listening on http://localhost:${port}`);
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
      expect(messages).toEqual(
        expect.arrayContaining(['shutting down: no new connections, waiting for requests in flight', 'projection stopped', 'shutdown complete']),
      );
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
});
