import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import {
  eventHash,
  GENESIS_HASH,
  openPostgresStore,
  SchemaRegistry,
  type EventStore,
  type NewEvent,
  type PostgresEventStore,
  type SqlClient,
  type SqlExecutor,
} from '@v2g/event-store';
import { settled } from '@v2g/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_STREAM, Checkpointer, keyIdOf, verifyLog, type TamperProblem, type VerifyReport } from '../src/index.ts';

/**
 * `verifyLog` against an attacker with superuser rights on the database: each test builds a fresh
 * store in its own schema (three site streams, two signed checkpoints, a tail after the last one),
 * changes rows behind the store's back the way such an attacker could (the append-only trigger off
 * with session_replication_role = replica), and checks what verify reports. Run on PGlite and on
 * the PostgreSQL server.
 */

export type TamperTarget = {
  sql: () => SqlClient;
  /** A schema name no other test uses. */
  freshSchema: () => string;
};

const registry = SchemaRegistry.fromDirectory();
const registered = (siteId: string): NewEvent => ({ type: 'SiteRegistered', data: { siteId, name: 'Depot', importLimitW: '100000', exportLimitW: '0' } });
const renamed = (siteId: string, n: number): NewEvent => ({ type: 'SiteRenamed', data: { siteId, name: `Depot ${n}` } });
const kinds = (report: VerifyReport) => report.problems.map((p) => p.kind);

type Seeded = {
  store: PostgresEventStore;
  schema: string;
  /** Stream ids: a has 6 events, b 4, c 5; the second checkpoint covers a 1-5, b 1-4, c 1-3. */
  a: string;
  b: string;
  c: string;
  key: { privateKey: KeyObject; publicKey: KeyObject };
};

export function tamperEvidenceScenarios(name: string, target: TamperTarget): void {
  describe(`tamper evidence: ${name}`, () => {
    const opened: EventStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function seed(): Promise<Seeded> {
      const schema = target.freshSchema();
      const store = await openPostgresStore({ sql: target.sql(), schema, registry });
      opened.push(store);
      const id = randomUUID().slice(0, 8);
      const [a, b, c] = ['a', 'b', 'c'].map((s) => `site-${s}${id}`) as [string, string, string];
      const site = (streamId: string) => streamId.slice('site-'.length);
      const append = (streamId: string, events: NewEvent[]) => store.append(streamId, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'test' });
      const key = generateKeyPairSync('ed25519');
      const checkpointer = new Checkpointer({ store, signingKey: key.privateKey });

      await append(a, [registered(site(a)), renamed(site(a), 1), renamed(site(a), 2)]);
      await append(b, [registered(site(b)), renamed(site(b), 1)]);
      await append(c, [registered(site(c))]);
      await append(a, [renamed(site(a), 3)]);
      await settled(store, (await append(b, [renamed(site(b), 2), renamed(site(b), 3)])).lastPosition!);
      expect(await checkpointer.checkpointNow()).toMatchObject({ appended: true, version: 1 });
      await append(c, [renamed(site(c), 1), renamed(site(c), 2)]);
      await settled(store, (await append(a, [renamed(site(a), 4)])).lastPosition!);
      expect(await checkpointer.checkpointNow()).toMatchObject({ appended: true, version: 2 });
      await append(c, [renamed(site(c), 3), renamed(site(c), 4)]);
      await settled(store, (await append(a, [renamed(site(a), 5)])).lastPosition!);
      return { store, schema, a, b, c, key };
    }

    /** As an attacker with superuser rights: triggers off for this transaction. */
    async function tamper(schema: string, statements: (tx: SqlExecutor, events: string) => Promise<unknown>): Promise<void> {
      await target.sql().transaction(async (tx) => {
        await tx.query(`SET LOCAL session_replication_role = replica`);
        await statements(tx, `"${schema}".events`);
      });
    }

    it('passes on a clean store: chains, stream heads, two signed checkpoints', async () => {
      const { store, a, b, c, key } = await seed();
      const report = await verifyLog(store, { publicKey: key.publicKey, requireSigned: true, pageSize: 4, streamPageSize: 2 });
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({
        ok: true,
        events: 17,
        streams: 4,
        streamEvents: 17,
        checkpoints: { checked: 2, signed: 2, signaturesValid: 2, latest: { version: 2 } },
        warnings: [
          expect.stringMatching(/^no checkpoint sink .*: a checkpoint history shortened or rewritten from its start cannot be told from the store alone$/),
          expect.stringMatching(/^the latest checkpoint covers the log up to position \d+ of \d+/),
        ],
      });
      const checkpoints = await store.readStream(CHECKPOINT_STREAM);
      expect(checkpoints.map((e) => (e.data as { count: string }).count)).toEqual(['9', '13']);
      expect(checkpoints.map((e) => (e.data as { streams: string }).streams)).toEqual(['3', '4']);
      expect((checkpoints[1]!.data as { previousRoot: string }).previousRoot).toBe((checkpoints[0]!.data as { merkleRoot: string }).merkleRoot);
      expect(checkpoints[1]!.data).toMatchObject({ signature: { keyId: keyIdOf(key.publicKey) } });
      // The whole log's root is what one would publish; checked as an anchor it passes.
      const anchored = await verifyLog(store, { anchors: [{ through: BigInt(report.head), merkleRoot: report.merkleRoot }] });
      expect(anchored.ok).toBe(true);
      expect((await store.listStreams()).streams.map((s) => s.streamId).sort()).toEqual([CHECKPOINT_STREAM, a, b, c].sort());
    });

    it('catches a row edited directly in PostgreSQL: the first broken link, with expected and found hash', async () => {
      const { store, schema, a } = await seed();
      const [before] = await store.readStream(a, { fromVersion: 3, limit: 1 });
      await tamper(schema, (tx, events) => tx.query(`UPDATE ${events} SET data = jsonb_set(data, '{name}', '"Depot 999"') WHERE stream_id = $1 AND stream_version = 3`, [a]));
      const report = await verifyLog(store);
      expect(report.ok).toBe(false);
      expect(report.problemCount).toBe(1);
      const [problem] = report.problems as [Extract<TamperProblem, { kind: 'hash-mismatch' }>];
      expect(problem).toMatchObject({ kind: 'hash-mismatch', streamId: a, version: 3, position: before!.globalPosition.toString(), foundHash: before!.hash });
      expect(problem.expectedHash).toMatch(/^[0-9a-f]{64}$/);
      expect(problem.expectedHash).not.toBe(before!.hash);
      expect(problem.message).toContain(`${a} version 3`);
    });

    it('catches an event deleted from the middle of a stream: a version gap, and every checkpoint over it', async () => {
      const { store, schema, a } = await seed();
      await tamper(schema, (tx, events) => tx.query(`DELETE FROM ${events} WHERE stream_id = $1 AND stream_version = 3`, [a]));
      const report = await verifyLog(store);
      expect(kinds(report)).toEqual(['version-gap', 'checkpoint-mismatch', 'checkpoint-mismatch']);
      expect(report.problems[0]).toMatchObject({ streamId: a, missingFrom: 3, missingTo: 3 });
      expect(report.problems[1]).toMatchObject({
        checkpointVersion: 1,
        differences: expect.arrayContaining([{ field: 'count', recorded: '9', found: '8' }]),
        message: expect.stringContaining('1 of the 9 events it covers missing (deleted)'),
      });
    });

    it('catches a truncated stream (its last events deleted, after the last checkpoint) by the head the store recorded', async () => {
      const { store, schema, c } = await seed();
      await tamper(schema, (tx, events) => tx.query(`DELETE FROM ${events} WHERE stream_id = $1 AND stream_version >= 4`, [c]));
      const report = await verifyLog(store);
      expect(report.problems).toEqual([
        expect.objectContaining({ kind: 'stream-truncated', streamId: c, recordedVersion: 5, lastVersion: 3, message: expect.stringContaining('truncated') }),
      ]);
    });

    it('catches a truncated stream whose head record was adjusted too, when a checkpoint covers it', async () => {
      const { store, schema, a } = await seed();
      // a's versions 4 and 5 are covered by the second checkpoint; version 6 is not.
      await tamper(schema, async (tx, events) => {
        await tx.query(`DELETE FROM ${events} WHERE stream_id = $1 AND stream_version >= 4`, [a]);
        const [last] = (await tx.query<{ hash: string }>(`SELECT hash FROM ${events} WHERE stream_id = $1 AND stream_version = 3`, [a])).rows;
        await tx.query(`UPDATE "${schema}".streams SET version = 3, last_hash = $2 WHERE stream_id = $1`, [a, last!.hash]);
      });
      const report = await verifyLog(store);
      expect(kinds(report)).toEqual(['checkpoint-mismatch', 'checkpoint-mismatch']);
      expect(report.problems[0]).toMatchObject({ checkpointVersion: 1, differences: expect.arrayContaining([{ field: 'count', recorded: '9', found: '8' }]) });
      expect(report.problems[1]).toMatchObject({ checkpointVersion: 2, differences: expect.arrayContaining([{ field: 'count', recorded: '13', found: '11' }]) });
    });

    it('catches a whole stream deleted (events, head and commands) through the checkpoints', async () => {
      const { store, schema, b } = await seed();
      await tamper(schema, async (tx, events) => {
        await tx.query(`DELETE FROM ${events} WHERE stream_id = $1`, [b]);
        await tx.query(`DELETE FROM "${schema}".streams WHERE stream_id = $1`, [b]);
        await tx.query(`DELETE FROM "${schema}".commands WHERE stream_id = $1`, [b]);
      });
      const report = await verifyLog(store);
      expect(report.streams).toBe(3);
      expect(kinds(report)).toEqual(['checkpoint-mismatch', 'checkpoint-mismatch']);
      expect(report.problems[0]).toMatchObject({
        checkpointVersion: 1,
        differences: expect.arrayContaining([
          { field: 'count', recorded: '9', found: '5' },
          { field: 'streams', recorded: '3', found: '2' },
        ]),
        message: expect.stringContaining('1 of the 3 streams it covers missing'),
      });
    });

    it('catches a stream rewritten with its hash chain recomputed and its head adjusted, through the checkpoints', async () => {
      const { store, schema, b } = await seed();
      const original = await store.readStream(b);
      let prev = GENESIS_HASH;
      const rewritten = original.map((event) => {
        const data = event.streamVersion >= 2 ? { ...(event.data as object), name: 'Rewritten' } : event.data;
        const hash = eventHash(prev, { ...event, data });
        prev = hash;
        return { version: event.streamVersion, data, hash };
      });
      await tamper(schema, async (tx, events) => {
        for (const row of rewritten) {
          await tx.query(`UPDATE ${events} SET data = $3::jsonb, hash = $4 WHERE stream_id = $1 AND stream_version = $2`, [b, row.version, JSON.stringify(row.data), row.hash]);
        }
        await tx.query(`UPDATE "${schema}".streams SET last_hash = $2 WHERE stream_id = $1`, [b, prev]);
      });
      const report = await verifyLog(store);
      // The chains are intact now: only the checkpoints know.
      expect(kinds(report)).toEqual(['checkpoint-mismatch', 'checkpoint-mismatch']);
      expect(report.problems[0]).toMatchObject({
        differences: [expect.objectContaining({ field: 'merkleRoot' }), expect.objectContaining({ field: 'frontier' })],
        message: expect.stringContaining('rewritten or reordered'),
      });
    });

    it('reports a forged checkpoint (signed with another key) and, when required, an unsigned one', async () => {
      const { store, a, key } = await seed();
      const forger = generateKeyPairSync('ed25519');
      await settled(store, (await store.append(a, [renamed(a.slice(5), 9)], { expectedVersion: 'any', commandId: randomUUID(), actor: 'test' })).lastPosition!);
      const forged = await new Checkpointer({ store, signingKey: forger.privateKey }).checkpointNow();
      expect(forged).toMatchObject({ appended: true, version: 3 });
      // verify reads the log up to its readable end: wait until the forged checkpoint is in it.
      if (!forged.appended) throw new Error('no checkpoint appended');
      await settled(store, forged.position);

      const report = await verifyLog(store, { publicKey: key.publicKey });
      expect(report.problems).toEqual([
        expect.objectContaining({
          kind: 'checkpoint-signature',
          checkpointVersion: 3,
          keyId: keyIdOf(forger.publicKey),
          message: expect.stringContaining(`forged or altered: signed with key ${keyIdOf(forger.publicKey)}, not the trusted key ${keyIdOf(key.publicKey)}`),
        }),
      ]);
      expect(report.checkpoints).toMatchObject({ checked: 3, signed: 3, signaturesValid: 2 });

      await settled(store, (await store.append(a, [renamed(a.slice(5), 10)], { expectedVersion: 'any', commandId: randomUUID(), actor: 'test' })).lastPosition!);
      const unsigned = await new Checkpointer({ store }).checkpointNow();
      expect(unsigned).toMatchObject({ appended: true, version: 4 });
      if (unsigned.appended) await settled(store, unsigned.position);
      const lenient = await verifyLog(store, { publicKey: key.publicKey });
      expect(kinds(lenient)).toEqual(['checkpoint-signature']);
      expect(lenient.warnings).toContain('1 checkpoint(s) unsigned (--require-signed makes that a failure)');
      const strict = await verifyLog(store, { publicKey: key.publicKey, requireSigned: true });
      expect(kinds(strict)).toEqual(['checkpoint-signature', 'checkpoint-signature']);
      // Without a key nothing is checked, and verify says so.
      const keyless = await verifyLog(store);
      expect(keyless.ok).toBe(true);
      expect(keyless.warnings).toContain('3 signed checkpoint(s) not checked: no public key (LEDGER_CHECKPOINT_PUBLIC_KEY)');
    });

    it('reports a checkpoint whose data was altered in place and a published root the log no longer gives', async () => {
      const { store, schema, key } = await seed();
      const before = await verifyLog(store);
      await tamper(schema, (tx, events) =>
        tx.query(`UPDATE ${events} SET data = jsonb_set(data, '{count}', '"99"') WHERE stream_id = $1 AND stream_version = 1`, [CHECKPOINT_STREAM]),
      );
      const report = await verifyLog(store, { publicKey: key.publicKey, anchors: [{ through: BigInt(before.head), merkleRoot: 'f'.repeat(64) }] });
      expect(kinds(report)).toEqual(['hash-mismatch', 'checkpoint-mismatch', 'checkpoint-signature', 'anchor-mismatch']);
      expect(report.problems[0]).toMatchObject({ streamId: CHECKPOINT_STREAM, version: 1 });
      expect(report.problems[2]).toMatchObject({ checkpointVersion: 1, reason: 'the signature does not match the data' });
      expect(report.problems[3]).toMatchObject({ recorded: 'f'.repeat(64), found: before.merkleRoot });
    });
  });
}
