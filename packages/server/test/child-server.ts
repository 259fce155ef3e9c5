import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TEST_OPERATOR_KEY, type LogLine } from './harness.ts';

/** The real entry point as `pnpm start` runs it, in a child process the test can signal or kill. */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

export type ChildServer = {
  child: ChildProcess;
  /** stdout parsed as pino JSON lines. */
  lines: LogLine[];
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
};

/** `entry`: node's arguments before `args`; by default the TypeScript source through tsx (the compiled build: see compiled-build.e2e). */
export function startMain(env: Record<string, string>, args: string[] = [], entry: readonly string[] = ['--import', 'tsx', MAIN]): ChildServer {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    // The harness's operator key, so that postGraphQL's default credentials work here too.
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', DATABASE_URL: '', EVENTSTORE_URL: '', AUTH_BOOTSTRAP_OPERATOR_KEY: TEST_OPERATOR_KEY, ...env },
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
  // 'close', not 'exit': by then the output is all read (a last line written just before exiting included).
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
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

export type CommandRun = { code: number | null; stdout: string; stderr: string };

/**
 * Runs a command to its end from the repository's root, with none of the ledger's configuration
 * variables inherited from the test's environment (only `env`'s).
 */
export function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<CommandRun> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      EVENTSTORE_URL: '',
      DATA_DIR: '',
      DB_SCHEMA: '',
      AUTH_BOOTSTRAP_OPERATOR_KEY: '',
      LEDGER_CHECKPOINT_KEY: '',
      LEDGER_CHECKPOINT_PUBLIC_KEY: '',
      LEDGER_CHECKPOINT_SINK_FILE: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** `pnpm ledger …` as an operator or auditor runs it. */
export const runLedgerCli = (args: string[], env: Record<string, string> = {}): Promise<CommandRun> => runCommand(process.execPath, ['--import', 'tsx', CLI, ...args], env);
