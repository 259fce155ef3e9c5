import { open, readFile } from 'node:fs/promises';
import { canonicalJson } from '@v2g/event-store';
import { CHECKPOINT_STREAM, parseCheckpoint, type LogCheckpointedData } from './checkpoint.ts';

/** A checkpoint as published outside the database: where it sits in `checkpoint-log`, and its data. */
export type PublishedCheckpoint = { version: number; position: bigint; checkpoint: LogCheckpointedData };

/**
 * Somewhere outside the database that every checkpoint is published to as it is recorded, so that
 * an anchor exists without an operator doing anything: whoever can rewrite the database (and delete
 * or shorten `checkpoint-log`) cannot take back what was published. The checkpointer only extends
 * the store's checkpoint history when it still holds the last published checkpoint; `ledger verify`
 * checks the log and the store's checkpoints against every published one.
 */
export interface CheckpointSink {
  /** Where it publishes, for messages (a path, a URL). */
  readonly where: string;
  /** Every checkpoint published so far, oldest first. */
  read(): Promise<PublishedCheckpoint[]>;
  publish(checkpoint: PublishedCheckpoint): Promise<void>;
}

/** A published checkpoint line that cannot be read: the file was edited or is not a sink's. */
export class CheckpointSinkUnreadable extends Error {
  constructor(where: string, line: number, reason: string) {
    super(`checkpoint sink ${where}, line ${line}: ${reason}`);
    this.name = 'CheckpointSinkUnreadable';
  }
}

/**
 * A file sink: one JSON line per checkpoint (`{"stream","version","position","checkpoint"}`),
 * appended and flushed to disk before the checkpointer goes on. A file that does not exist yet is
 * an empty sink. Keep it where the database's administrators cannot write (another host, a mount
 * that only the ledger's user may append to), and copy it off the machine as any log.
 */
export class FileCheckpointSink implements CheckpointSink {
  constructor(readonly path: string) {}

  get where(): string {
    return this.path;
  }

  async read(): Promise<PublishedCheckpoint[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const published: PublishedCheckpoint[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      published.push(parseLine(this.path, i + 1, line));
    }
    for (let i = 1; i < published.length; i++) {
      if (published[i]!.version <= published[i - 1]!.version) {
        throw new CheckpointSinkUnreadable(this.path, i + 1, `version ${published[i]!.version} comes after version ${published[i - 1]!.version}`);
      }
    }
    return published;
  }

  async publish({ version, position, checkpoint }: PublishedCheckpoint): Promise<void> {
    const line = `${JSON.stringify({ stream: CHECKPOINT_STREAM, version, position: position.toString(), checkpoint })}\n`;
    const file = await open(this.path, 'a', 0o640);
    try {
      await file.write(line);
      await file.sync();
    } finally {
      await file.close();
    }
  }
}

function parseLine(where: string, lineNumber: number, line: string): PublishedCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new CheckpointSinkUnreadable(where, lineNumber, 'not JSON');
  }
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || v.stream !== CHECKPOINT_STREAM) throw new CheckpointSinkUnreadable(where, lineNumber, `not a ${CHECKPOINT_STREAM} checkpoint`);
  if (typeof v.version !== 'number' || !Number.isSafeInteger(v.version) || v.version < 1)
    throw new CheckpointSinkUnreadable(where, lineNumber, 'version is not a whole number >= 1');
  if (typeof v.position !== 'string' || !/^[1-9][0-9]{0,19}$/.test(v.position)) throw new CheckpointSinkUnreadable(where, lineNumber, 'position is not a position');
  const parsed = parseCheckpoint(v.checkpoint);
  if (!parsed.ok) throw new CheckpointSinkUnreadable(where, lineNumber, parsed.reason);
  return { version: v.version, position: BigInt(v.position), checkpoint: parsed.checkpoint };
}

/** True when two checkpoints carry the same data, signature included. */
export function sameCheckpoint(a: LogCheckpointedData, b: LogCheckpointedData): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
