import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectPostgres, eventHash, GENESIS_HASH, openPglite, openPostgresStore, SchemaRegistry, type EventStore, type NewEvent, type SqlClient } from '@v2g/event-store';
import { CHECKPOINT_STREAM, rawPublicKey, type VerifyReport } from '@v2g/ledger';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLedger } from '../src/ledger-app.ts';
import { createLogger } from '../src/logger.ts';
import { runCommand, runLedgerCli } from './child-server.ts';

/** `ledger` as an operator runs it: a child process, its exit code, its stdout and stderr. */

const BIN = fileURLToPath(new URL('../bin/ledger.js', import.meta.url));
const postgresUrl = inject('postgresUrl');
const registry = SchemaRegistry.fromDirectory();
const ledger = runLedgerCli;

async function seed(store: EventStore): Promise<void> {
  const renamed = (siteId: string, n: number): NewEvent => ({ type: 'SiteRenamed', data: { siteId, name: `Depot ${n}` } });
  let last = 0n;
  for (let i = 0; i < 12; i++) {
    const site = `cli${i % 3}`;
    last = (await store.append(`site-${site}`, [renamed(site, i)], { expectedVersion: 'any', commandId: randomUUID(), actor: 'test' })).lastPosition!;
  }
  // The CLI checkpoints the log up to its readable head, which on a server may trail these appends.
  const deadline = Date.now() + 30_000;
  while ((await store.headPosition()) < last) {
    if (Date.now() > deadline) throw new Error(`position ${last} did not become readable in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The keys `ledger keygen` printed, as environment variables. */
function keysFrom(output: string): Record<string, string> {
  return Object.fromEntries(
    output
      .split('\n')
      .filter((line) => line.startsWith('LEDGER_'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('ledger CLI', () => {
  it('lists its commands and exit codes, and explains each command', async () => {
    const top = await ledger(['--help']);
    expect(top.code).toBe(0);
    for (const text of ['verify', 'checkpoint', 'keygen', 'Exit codes: 0 ok, 1 failed', '2 bad usage or configuration', 'DATABASE_URL']) expect(top.stdout).toContain(text);
    const verify = await ledger(['verify', '--help']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^Usage: pnpm ledger verify/);
    expect(verify.stdout).toContain('Exit codes: 0 nothing was altered; 1 something was altered');
    // The bin entry and the root script run the same program.
    const bin = await runCommand(process.execPath, [BIN, 'checkpoint', '--help'], {});
    expect(bin).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: pnpm ledger checkpoint/) });
    const pnpm = await runCommand('pnpm', ['-s', 'ledger', 'keygen', '--help'], {});
    expect(pnpm).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: pnpm ledger keygen/) });
  }, 60_000);

  it('exits 2 on bad usage or configuration, naming what is wrong', async () => {
    expect(await ledger([])).toMatchObject({ code: 2, stderr: expect.stringContaining('Usage: pnpm ledger <command>') });
    expect(await ledger(['verfy'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "verfy"') });
    expect(await ledger(['verify', '--jsn'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--jsn'") });
    expect(await ledger(['verify', '--anchor', '12:nope'])).toMatchObject({ code: 2, stderr: expect.stringContaining('expected POSITION:ROOT') });
    const badKey = await ledger(['checkpoint'], { LEDGER_CHECKPOINT_KEY: 'my-secret-passphrase' });
    expect(badKey).toMatchObject({ code: 2, stderr: expect.stringContaining('configuration error: LEDGER_CHECKPOINT_KEY must be an Ed25519 private key') });
    expect(badKey.stderr).not.toContain('my-secret-passphrase');
    expect(await ledger(['verify'], { DATA_DIR: join(tmpdir(), `v2g-none-${randomUUID()}`) })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('configuration error: DATA_DIR'),
    });
  }, 60_000);

  describe.skipIf(postgresUrl === null)('on the PostgreSQL server', () => {
    let sql: SqlClient;
    const schema = `test_cli_${process.pid}_${randomUUID().slice(0, 8)}`;
    let env: Record<string, string>;

    beforeAll(async () => {
      sql = await connectPostgres(postgresUrl!);
      const store = await openPostgresStore({ sql, schema, registry });
      await seed(store);
      await store.close();
      env = { DATABASE_URL: postgresUrl!, DB_SCHEMA: schema };
    });
    afterAll(async () => {
      await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql?.close();
    });

    it('keygen, a signed checkpoint, verify passes; an edited row makes verify exit 1 and name it', async () => {
      const keygen = await ledger(['keygen']);
      expect(keygen.code).toBe(0);
      const keys = keysFrom(keygen.stdout);
      expect(keys.LEDGER_CHECKPOINT_KEY).toMatch(/^[0-9a-f]{64}$/);
      const keyId = /# key id ([0-9a-f]{16})/.exec(keygen.stdout)![1]!;

      const checkpoint = await ledger(['checkpoint'], { ...env, LEDGER_CHECKPOINT_KEY: keys.LEDGER_CHECKPOINT_KEY! });
      expect(checkpoint).toMatchObject({ code: 0, stderr: '' });
      expect(checkpoint.stdout).toContain('ledger checkpoint: appended checkpoint-log version 1');
      expect(checkpoint.stdout).toContain('events:      12 in 3 streams');
      expect(checkpoint.stdout).toContain(`signature:   signed with key ${keyId}`);
      const anchor = /--anchor (\d+:[0-9a-f]{64})/.exec(checkpoint.stdout)![1]!;

      const auditor = { ...env, LEDGER_CHECKPOINT_PUBLIC_KEY: keys.LEDGER_CHECKPOINT_PUBLIC_KEY! };
      const clean = await ledger(['verify', '--require-signed', '--anchor', anchor], auditor);
      expect(clean).toMatchObject({ code: 0, stderr: '' });
      expect(clean.stdout).toMatch(/^ledger verify: OK, nothing altered/);
      expect(clean.stdout).toContain(`1 of 1 signed valid with key ${keyId}`);

      await sql.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(`UPDATE "${schema}".events SET data = jsonb_set(data, '{name}', '"Forged"') WHERE stream_id = 'site-cli1' AND stream_version = 2`);
      });
      const tampered = await ledger(['verify', '--json', '--anchor', anchor], auditor);
      expect(tampered.code).toBe(1);
      const report = JSON.parse(tampered.stdout) as VerifyReport;
      expect(report).toMatchObject({ ok: false, problemCount: 1, problems: [{ kind: 'hash-mismatch', streamId: 'site-cli1', version: 2 }] });
      const human = await ledger(['verify'], auditor);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/^ledger verify: FAILED, 1 problem /);
      expect(human.stdout).toMatch(/1\. site-cli1 version 2 \(position \d+\): hash mismatch: expected [0-9a-f]{64}, found [0-9a-f]{64}/);
    }, 90_000);

    it('the server appends signed checkpoints by itself (every N events), and verify checks them', async () => {
      const serverSchema = `${schema}_server`;
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      // Each one published to a file outside the database, with nobody asking.
      const sinkDir = mkdtempSync(join(tmpdir(), 'v2g-server-sink-'));
      const sinkFile = join(sinkDir, 'checkpoints.jsonl');
      const server = await openLedger(
        {
          databaseUrl: postgresUrl!,
          eventStoreUrl: null,
          dbSchema: serverSchema,
          dataDir: undefined,
          checkpoint: { everyEvents: 5, everyMs: 0, signingKey: privateKey, publicKey, sinkFile },
        },
        createLogger('silent'),
      );
      try {
        try {
          await server.start();
          await seed(server.store);
          const deadline = Date.now() + 20_000;
          // Until a checkpoint is recorded and readable: on a busy server the readable end of the log
          // (what verify reads) can trail the last append while older transactions are in flight.
          const readableCheckpoint = async () => {
            const checkpoints = await server.store.readStream(CHECKPOINT_STREAM);
            return checkpoints.length > 0 && (await server.store.headPosition()) >= checkpoints.at(-1)!.globalPosition;
          };
          while (!(await readableCheckpoint())) {
            if (Date.now() > deadline) throw new Error('the server appended no checkpoint in 20 s');
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } finally {
          await server.close();
        }
        const verify = await ledger(['verify', '--require-signed', '--sink', sinkFile], {
          DATABASE_URL: postgresUrl!,
          DB_SCHEMA: serverSchema,
          LEDGER_CHECKPOINT_PUBLIC_KEY: rawPublicKey(publicKey).toString('hex'),
        });
        expect(verify).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ledger verify: OK/) });
        expect(verify.stdout).toMatch(/checkpoints: [1-9]\d* checked, ([1-9]\d*) of \1 signed valid with key [0-9a-f]{16}/);
        const recorded = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${serverSchema}".events WHERE stream_id = $1`, [CHECKPOINT_STREAM]);
        const published = readFileSync(sinkFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).version);
        expect(published).toEqual(Array.from({ length: recorded.rows[0]!.n }, (_, i) => i + 1));
        expect(verify.stdout).toContain(`sink:        ${published.length} published checkpoint(s) checked`);
      } finally {
        rmSync(sinkDir, { recursive: true, force: true });
        await sql.query(`DROP SCHEMA IF EXISTS "${serverSchema}" CASCADE`).catch(() => undefined);
      }
    }, 90_000);
  });

  describe.skipIf(postgresUrl === null)('a superuser who rewrites a stream and removes or shortens the checkpoint history (PostgreSQL server)', () => {
    let sql: SqlClient;
    const schemas: string[] = [];
    const sinkDir = mkdtempSync(join(tmpdir(), 'v2g-sink-'));
    let keys: Record<string, string>;
    beforeAll(async () => {
      sql = await connectPostgres(postgresUrl!);
      keys = keysFrom((await ledger(['keygen'])).stdout);
    });
    afterAll(async () => {
      for (const schema of schemas) await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql?.close();
      rmSync(sinkDir, { recursive: true, force: true });
    });

    /** A seeded log checkpointed `checkpoints` times (signed, published to a sink file), and its environment. */
    async function checkpointedLog(checkpoints: number) {
      const schema = `test_cli_forge_${process.pid}_${randomUUID().slice(0, 8)}`;
      schemas.push(schema);
      const sinkFile = join(sinkDir, `${schema}.jsonl`);
      const store = await openPostgresStore({ sql, schema, registry });
      const base = { DATABASE_URL: postgresUrl!, DB_SCHEMA: schema };
      const signer = { ...base, LEDGER_CHECKPOINT_KEY: keys.LEDGER_CHECKPOINT_KEY!, LEDGER_CHECKPOINT_SINK_FILE: sinkFile };
      for (let i = 0; i < checkpoints; i++) {
        await seed(store);
        expect(await ledger(['checkpoint'], signer)).toMatchObject({ code: 0, stdout: expect.stringContaining(`appended checkpoint-log version ${i + 1}`) });
      }
      await store.close();
      const auditor = { ...base, LEDGER_CHECKPOINT_PUBLIC_KEY: keys.LEDGER_CHECKPOINT_PUBLIC_KEY! };
      return { schema, sinkFile, base, signer, auditor };
    }

    /** What a superuser can do: new content for a whole stream, every hash and the stream's head recomputed to match. */
    async function rewriteStream(schema: string, streamId: string): Promise<void> {
      await sql.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        const { rows } = await tx.query<{ stream_version: number; type: string; schema_version: number; data: Record<string, unknown>; metadata: any }>(
          `SELECT stream_version, type, schema_version, data, metadata FROM "${schema}".events WHERE stream_id = $1 ORDER BY stream_version`,
          [streamId],
        );
        let prev = GENESIS_HASH;
        for (const row of rows) {
          const data = { ...row.data, name: 'Forged depot' };
          const hash = eventHash(prev, { streamId, streamVersion: row.stream_version, type: row.type, schemaVersion: row.schema_version, data, metadata: row.metadata });
          await tx.query(`UPDATE "${schema}".events SET data = $3::jsonb, hash = $4 WHERE stream_id = $1 AND stream_version = $2`, [
            streamId,
            row.stream_version,
            JSON.stringify(data),
            hash,
          ]);
          prev = hash;
        }
        await tx.query(`UPDATE "${schema}".streams SET last_hash = $2 WHERE stream_id = $1`, [streamId, prev]);
      });
    }

    /** Removes the checkpoint stream's events from `fromVersion` on, and sets its head to what is left. */
    async function dropCheckpoints(schema: string, fromVersion: number): Promise<void> {
      await sql.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(`DELETE FROM "${schema}".events WHERE stream_id = $1 AND stream_version >= $2`, [CHECKPOINT_STREAM, fromVersion]);
        if (fromVersion === 1) {
          await tx.query(`DELETE FROM "${schema}".streams WHERE stream_id = $1`, [CHECKPOINT_STREAM]);
        } else {
          await tx.query(
            `UPDATE "${schema}".streams s SET version = e.stream_version, last_hash = e.hash, last_position = e.global_position
               FROM "${schema}".events e WHERE s.stream_id = $1 AND e.stream_id = $1 AND e.stream_version = $2`,
            [CHECKPOINT_STREAM, fromVersion - 1],
          );
        }
      });
    }

    const checkpointVersion = async (schema: string) =>
      Number((await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".events WHERE stream_id = $1`, [CHECKPOINT_STREAM])).rows[0]!.n);

    it('publishes every checkpoint to the sink file; verify checks the store against it', async () => {
      const { sinkFile, auditor } = await checkpointedLog(2);
      const lines = readFileSync(sinkFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toMatchObject([
        { stream: CHECKPOINT_STREAM, version: 1, checkpoint: { count: '12', previousRoot: null, signature: { algorithm: 'ed25519' } } },
        { stream: CHECKPOINT_STREAM, version: 2, checkpoint: { count: '25', previousThrough: '12', signature: { algorithm: 'ed25519' } } },
      ]);
      const clean = await ledger(['verify', '--require-signed', '--sink', sinkFile], auditor);
      expect(clean).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ledger verify: OK/) });
      expect(clean.stdout).toContain('sink:        2 published checkpoint(s) checked against the store and the log');
    }, 120_000);

    it('with signatures required, a removed checkpoint history fails verify, and checkpoint refuses to sign the forged log', async () => {
      const { schema, sinkFile, auditor, signer } = await checkpointedLog(2);
      await rewriteStream(schema, 'site-cli1');
      await dropCheckpoints(schema, 1);
      // The hash chains and heads agree with the forgery: only the missing history gives it away.
      const alone = await ledger(['verify', '--require-signed'], auditor);
      expect(alone.code, alone.stdout).toBe(1);
      expect(alone.stdout).toMatch(/^ledger verify: FAILED, 1 problem /);
      expect(alone.stdout).toContain(
        'checkpoint history: the log holds 24 events but checkpoint-log holds no checkpoint, and signatures are required: the checkpoint history is missing',
      );
      const withSink = await ledger(['verify', '--require-signed', '--json', '--sink', sinkFile], auditor);
      expect(withSink.code).toBe(1);
      const report = JSON.parse(withSink.stdout) as VerifyReport;
      // Checkpoint 1's root no longer holds; checkpoints 1 and 2 are gone from the store; none is left.
      expect(report.problems.map((p) => p.kind).sort()).toEqual(['anchor-mismatch', 'checkpoint-history', 'checkpoint-history', 'checkpoint-history']);
      expect(report.problems.find((p) => p.kind === 'checkpoint-history')!.message).toMatch(
        /holds checkpoint 1 .*but the store holds no checkpoint: the checkpoint history was removed/,
      );

      // The next checkpoint must not sign the forged log from position 0.
      const refused = await ledger(['checkpoint'], signer);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /ledger checkpoint: failed: checkpoint-log cannot be extended: the store holds no checkpoint, but the sink .* holds version 2 .*: the checkpoint history was removed/,
      );
      expect(await checkpointVersion(schema)).toBe(0);
      expect(readFileSync(sinkFile, 'utf8').trim().split('\n')).toHaveLength(2);
    }, 180_000);

    it('a shortened checkpoint history fails verify against the sink, and checkpoint only extends the last signed one', async () => {
      const { schema, sinkFile, auditor, signer } = await checkpointedLog(3);
      await rewriteStream(schema, 'site-cli2');
      await dropCheckpoints(schema, 3);
      const verify = await ledger(['verify', '--require-signed', '--sink', sinkFile], auditor);
      expect(verify.code, verify.stdout).toBe(1);
      expect(verify.stdout).toMatch(
        /checkpoint history: the sink .* holds checkpoint 3 \(position \d+, through \d+\), but the store's checkpoint-log ends at version 2: the checkpoint history was shortened/,
      );
      const refused = await ledger(['checkpoint'], signer);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("the store's latest checkpoint is version 2, but the sink");
      expect(await checkpointVersion(schema)).toBe(2);
    }, 180_000);

    it('a checkpointer whose sink missed a checkpoint (a crash after the append) publishes it before going on', async () => {
      const { schema, sinkFile, signer, auditor } = await checkpointedLog(1);
      const first = readFileSync(sinkFile, 'utf8');
      // Checkpoint 2 recorded while no sink was configured.
      const store = await openPostgresStore({ sql, schema, registry });
      await seed(store);
      await store.close();
      expect(await ledger(['checkpoint'], { ...signer, LEDGER_CHECKPOINT_SINK_FILE: '' })).toMatchObject({ code: 0 });
      expect(readFileSync(sinkFile, 'utf8')).toBe(first);
      const upToDate = await ledger(['checkpoint'], signer);
      expect(upToDate).toMatchObject({ code: 0, stdout: expect.stringContaining('up to date') });
      expect(
        readFileSync(sinkFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).version),
      ).toEqual([1, 2]);
      expect(await ledger(['verify', '--require-signed', '--sink', sinkFile], auditor)).toMatchObject({ code: 0 });
      expect(existsSync(sinkFile)).toBe(true);
    }, 180_000);
  });

  describe('on PGlite (DATA_DIR)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'v2g-cli-'));
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('checkpoint and verify pass; a deleted event makes verify exit 1', async () => {
      const sql = await openPglite(dataDir);
      const store = await openPostgresStore({ sql, registry });
      await seed(store);
      await store.close();
      await sql.close();

      const checkpoint = await ledger(['checkpoint', '--json'], { DATA_DIR: dataDir });
      expect(checkpoint.code).toBe(0);
      expect(JSON.parse(checkpoint.stdout)).toMatchObject({ appended: true, checkpoint: { version: 1, count: '12', streams: '3' } });
      expect(JSON.parse(checkpoint.stdout).checkpoint).not.toHaveProperty('signature');
      expect(await ledger(['verify'], { DATA_DIR: dataDir })).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ledger verify: OK/) });

      const again = await openPglite(dataDir);
      await again.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(`DELETE FROM v2g.events WHERE stream_id = 'site-cli0' AND stream_version = 2`);
      });
      await again.close();
      const tampered = await ledger(['verify'], { DATA_DIR: dataDir });
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toContain('site-cli0: version 2 is missing before position');
      expect(tampered.stdout).toContain('checkpoint 1 (position 13, through 12): 1 of the 12 events it covers missing (deleted)');
    }, 120_000);
  });
});
