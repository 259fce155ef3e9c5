import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LogLine } from './harness.ts';

/** The real entry point as `pnpm start` runs it, in a child process the test can signal or kill. */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export type ChildServer = {
  child: ChildProcess;
  /** stdout parsed as pino JSON lines. */
  lines: LogLine[];
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
};

export function startMain(env: Record<string, string>, args: string[] = []): ChildServer {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', DATABASE_URL: '', EVENTSTORE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stdout = '';
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as LogLine);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, stdout: () => stdout, stderr: () => stderr, exit };
}

export async function waitForLine(running: ChildServer, msg: string | RegExp, timeoutMs = 30_000): Promise<LogLine> {
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

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
