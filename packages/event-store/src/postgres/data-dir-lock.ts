import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreError } from '../errors.ts';

/**
 * One process at a time per PGlite data folder. PGlite does not lock its folder itself, and two
 * processes writing there (a CLI command while the server runs) write at the same log positions
 * unseen by each other.
 *
 * The lock is a listening socket whose name is derived from the folder: binding a name that a live
 * process holds fails at once (EADDRINUSE), and the kernel releases it when its process ends, even
 * by SIGKILL, so there is no lock file to leave behind or to delete. On Linux it is an abstract
 * socket named after the folder's device and inode (the same folder under any path; abstract names
 * are per network namespace, so containers sharing a folder must share the network namespace); on
 * Windows a named pipe. Elsewhere (macOS) it is a socket file in the temporary folder: a file left
 * by a process that died answers no connection and only then is replaced.
 *
 * Whoever connects is told who holds the folder (pid, what it is, since when), for the refusal.
 */

export type DataDirHolder = { pid: number; holder: string; since: string };

/** The folder is open in another process (or already in this one). */
export class DataDirInUse extends EventStoreError {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder | null,
  ) {
    super(
      `the embedded store (PGlite in ${dataDir}) is in use by ${holder ? `${holder.holder} (pid ${holder.pid}, since ${holder.since})` : 'another process'}: PGlite serves one process at a time`,
      { dataDir, holder: holder?.holder ?? null, pid: holder?.pid ?? null },
    );
  }
}

export type DataDirLock = { release(): Promise<void> };

/** Creates `dataDir` if needed and locks it for this process, or throws DataDirInUse. `holder` says what this process is. */
export async function lockDataDir(dataDir: string, holder: string): Promise<DataDirLock> {
  mkdirSync(dataDir, { recursive: true });
  const address = lockAddress(dataDir);
  const me: DataDirHolder = { pid: process.pid, holder, since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => socket.end(`${JSON.stringify(me)}\n`));
    const error = await listen(server, address.name);
    if (error === null) {
      // The lock must not keep the process alive on its own.
      server.unref();
      return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    }
    if (error.code !== 'EADDRINUSE') throw error;
    const other = await askHolder(address.name);
    if (other !== 'nobody') throw new DataDirInUse(dataDir, other);
    // Nobody answers: the holder has just died (the kernel freed the name), or a socket file was left.
    if (attempt > 0) throw new DataDirInUse(dataDir, null);
    if (address.file) rmSync(address.name, { force: true });
  }
}

function lockAddress(dataDir: string): { name: string; file: boolean } {
  if (process.platform === 'linux') {
    const { dev, ino } = statSync(dataDir);
    return { name: `\0v2g-ledger-pglite:${dev}:${ino}`, file: false };
  }
  const hash = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 24);
  if (process.platform === 'win32') return { name: `\\\\?\\pipe\\v2g-ledger-pglite-${hash}`, file: false };
  return { name: join(tmpdir(), `v2g-ledger-pglite-${hash}.sock`), file: true };
}

function listen(server: Server, name: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    server.once('error', resolve);
    server.listen(name, () => {
      server.removeListener('error', resolve);
      resolve(null);
    });
  });
}

/** What the holder says about itself; null when it answers nothing readable; 'nobody' when nothing listens. */
function askHolder(name: string): Promise<DataDirHolder | null | 'nobody'> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(name);
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'nobody' : null);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      try {
        const holder = JSON.parse(text) as DataDirHolder;
        resolve(Number.isSafeInteger(holder.pid) && typeof holder.holder === 'string' ? holder : null);
      } catch {
        resolve(null);
      }
    });
  });
}
