import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * PGlite serves one process and does not lock its folder: a second process that opens the same
 * DATA_DIR (a CLI command while the server runs) would write to the same files unseen. The server
 * leaves its pid in the folder while it runs; commands that write (projections rebuild) check it
 * first and refuse, naming the server's pid.
 */
export const SERVER_PID_FILE = 'ledger-server.pid';

/** Records this process as the one serving `dataDir`; returns the release. Best effort: never fails the start. */
export function claimEmbeddedDir(dataDir: string): () => void {
  const file = join(dataDir, SERVER_PID_FILE);
  try {
    writeFileSync(file, `${process.pid}\n`);
  } catch {
    return () => {};
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      // Gone already.
    }
  };
}

/** The pid of a live process serving `dataDir`, or null (none recorded, or it died without cleaning up). */
export function embeddedDirHolder(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, SERVER_PID_FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: it lives, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
