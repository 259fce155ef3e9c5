/**
 * Start-up times as a user sees them: the median of several runs of `pnpm start --help`,
 * `pnpm ledger --help`, the server on a fresh PGlite DATA_DIR until /healthz and then /readyz
 * answer 200, and two CLI commands on that PGlite folder (server stopped).
 *
 *   pnpm startup-times            (RUNS=5 by default; RUNS=9 pnpm startup-times for more)
 *
 * Each run is a new process started through pnpm, as the README tells users to, once with the
 * compiled build (`pnpm start`, `pnpm ledger`: packages/server/dist) and once from the TypeScript
 * sources through tsx (`pnpm exec tsx …/main.ts`, what `pnpm start` ran before the build), in the
 * same run on the same machine. The table is Markdown, for the README.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 5);
const CLEAN_ENV = { ...process.env, DATABASE_URL: '', EVENTSTORE_URL: '', DB_SCHEMA: '', AUTH_BOOTSTRAP_OPERATOR_KEY: '', NODE_ENV: 'development', LOG_LEVEL: 'warn' };

type Sample = { name: string; ms: number[] };

type Mode = { name: string; start: string[]; ledger: string[] };
const MODES: Mode[] = [
  { name: 'compiled', start: ['start'], ledger: ['ledger'] },
  { name: 'from source (tsx)', start: ['exec', 'tsx', 'packages/server/src/main.ts'], ledger: ['exec', 'tsx', 'packages/server/src/cli/main.ts'] },
];

function run(args: string[], env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['-s', ...args], { cwd: ROOT, env: { ...CLEAN_ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`pnpm ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until200(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 in time`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The server on a fresh data folder: ms to /healthz 200, then to /readyz 200; stopped with SIGTERM. */
async function serverReady(mode: Mode, dataDir: string): Promise<[number, number]> {
  const port = await freePort();
  const started = performance.now();
  // Its own process group: SIGTERM to pnpm alone would leave the node server running (and holding DATA_DIR).
  const child = spawn('pnpm', ['-s', ...mode.start], { cwd: ROOT, env: { ...CLEAN_ENV, PORT: String(port), DATA_DIR: dataDir }, stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    const deadline = Date.now() + 120_000;
    await until200(`http://127.0.0.1:${port}/healthz`, deadline);
    const healthy = performance.now() - started;
    await until200(`http://127.0.0.1:${port}/readyz`, deadline);
    return [healthy, performance.now() - started];
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    // The server itself (pnpm's child) must be gone before the CLI opens its folder.
    while (isAlive(-child.pid!)) await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const median = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const WHAT = [
  'pnpm itself (pnpm exec node -e 0)',
  'pnpm start --help',
  'pnpm ledger --help',
  'server: /healthz 200 (fresh PGlite)',
  'server: /readyz 200 (fresh PGlite)',
  'pnpm ledger verify (PGlite)',
  'pnpm ledger apikey list (PGlite)',
];
const samples: Sample[][] = MODES.map(() => WHAT.map((name) => ({ name, ms: [] })));
// The build is made once, as `pnpm install` does: its time is not a start-up's.
await run(['build']);
for (let i = 0; i < RUNS; i++) {
  for (const [m, mode] of MODES.entries()) {
    const sample = samples[m]!;
    sample[0]!.ms.push(await run(['exec', 'node', '-e', '0']));
    sample[1]!.ms.push(await run([...mode.start, '--help']));
    sample[2]!.ms.push(await run([...mode.ledger, '--help']));
    const dataDir = mkdtempSync(join(tmpdir(), 'v2g-startup-'));
    try {
      const [healthy, ready] = await serverReady(mode, dataDir);
      sample[3]!.ms.push(healthy);
      sample[4]!.ms.push(ready);
      sample[5]!.ms.push(await run([...mode.ledger, 'verify'], { DATA_DIR: dataDir }));
      sample[6]!.ms.push(await run([...mode.ledger, 'apikey', 'list'], { DATA_DIR: dataDir }));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  process.stderr.write(`run ${i + 1} of ${RUNS} done\n`);
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
process.stdout.write(`| what (median of ${RUNS} runs; min–max) | ${MODES.map((m) => m.name).join(' | ')} |\n| --- |${MODES.map(() => ' --- |').join('')}\n`);
for (const [w, name] of WHAT.entries()) {
  const cells = samples.map((sample) => `${s(median(sample[w]!.ms))} (${s(Math.min(...sample[w]!.ms))}–${s(Math.max(...sample[w]!.ms))})`);
  process.stdout.write(`| ${name} | ${cells.join(' | ')} |\n`);
}
