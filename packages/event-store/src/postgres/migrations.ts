import type { SqlClient, SqlExecutor } from './sql-client.ts';

/**
 * Versioned schema of the PostgreSQL event store. A migration is a list of single statements
 * (PGlite's query() runs one statement per call), applied once, in order, inside one transaction
 * per run, and recorded in `<schema>.schema_migrations`. Never edit a released migration: add one.
 */
export type Migration = {
  version: number;
  name: string;
  statements: (schema: SchemaNames) => string[];
};

/** Identifiers and lock keys derived from the schema name, baked into the SQL of every migration. */
export type SchemaNames = {
  /** The schema as a quoted identifier: `"v2g"`. */
  schema: string;
  /** The schema name as an SQL string literal: `'v2g'`. */
  literal: string;
  /** The NOTIFY channel woken by every append that wrote events: `v2g_events`. */
  channel: string;
};

export const DEFAULT_SCHEMA = 'v2g';

// Lowercase and unquoted-safe on purpose: the NOTIFY channel is `<schema>_events`, and PGlite's
// listen() lowercases an unquoted channel name, so a mixed-case schema would never be woken.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,49}$/;

export function schemaNames(schema: string): SchemaNames {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`schema name ${JSON.stringify(schema)}: use lowercase letters, digits and _ (at most 50)`);
  }
  return { schema: `"${schema}"`, literal: `'${schema}'`, channel: `${schema}_events` };
}

/**
 * Advisory lock keys. The two-int form lives in a lock space apart from the one-bigint form used for
 * per-stream locks, so a stream id can never hash onto the append or migration lock.
 * The first key is the schema's hash, so stores in different schemas do not contend.
 */
const APPEND_LOCK = 1;
const MIGRATION_LOCK = 2;
/**
 * Held in share mode by every appending transaction, from before its first write (which assigns
 * its xid) to its end: pg_locks then names the store's own open appenders, so readers wait for
 * them and for nothing else on the server (see readable_bound).
 */
export const APPENDER_LOCK = 3;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'event log, streams, commands, append functions',
    statements: ({ schema, literal, channel }) => [
      `CREATE TABLE IF NOT EXISTS ${schema}.events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- Assigned at the transaction's first write, which is the events INSERT under the append
        -- lock: position order is xid order, which is what lets readers use pg_snapshot_xmin.
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text NOT NULL,
        stream_version int NOT NULL,
        category text NOT NULL,
        type text NOT NULL,
        schema_version int NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        hash text NOT NULL,
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
      )`,
      `CREATE INDEX IF NOT EXISTS events_category_position ON ${schema}.events (category, global_position)`,
      `CREATE TABLE IF NOT EXISTS ${schema}.streams (
        stream_id text PRIMARY KEY,
        category text NOT NULL,
        version int NOT NULL,
        last_hash text NOT NULL,
        last_position bigint NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS ${schema}.commands (
        command_id text PRIMARY KEY,
        stream_id text NOT NULL,
        next_expected_version int NOT NULL,
        first_version int,
        first_position bigint,
        last_position bigint
      )`,
      `CREATE OR REPLACE FUNCTION ${schema}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the event log is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END $$`,
      `DROP TRIGGER IF EXISTS events_append_only ON ${schema}.events`,
      `CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON ${schema}.events
        FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_event_change()`,
      `DROP TRIGGER IF EXISTS events_no_truncate ON ${schema}.events`,
      `CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ${schema}.events
        FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.refuse_event_change()`,
      // Step 1 of an append: serialise writers of one stream, then read what they decide on.
      // VOLATILE, so the SELECT takes a fresh snapshot after the lock is granted and sees what the
      // previous holder committed. An advisory lock assigns no xid (SELECT ... FOR UPDATE would).
      `CREATE OR REPLACE FUNCTION ${schema}.lock_stream(p_stream_id text, p_command_id text)
      RETURNS TABLE (
        command_stream_id text, command_next_expected_version int, command_first_version int,
        command_first_position bigint, command_last_position bigint, stream_version int, last_hash text
      ) LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(${literal} || '/' || p_stream_id, 0));
        RETURN QUERY
          SELECT c.stream_id, c.next_expected_version, c.first_version, c.first_position, c.last_position,
                 s.version, s.last_hash
          FROM (SELECT 1) AS one
          LEFT JOIN ${schema}.commands c ON c.command_id = p_command_id
          LEFT JOIN ${schema}.streams s ON s.stream_id = p_stream_id;
      END $$`,
      // Step 2: every write of the append in one round trip. The events INSERT must be the first
      // write of the transaction (it assigns the xid) and runs under a session-level lock held only
      // around it, so xids and positions are handed out in the same order; the lock is released
      // before COMMIT so that concurrent commits still share WAL flushes. If the INSERT fails, the
      // session lock is still held: the connectors run pg_advisory_unlock_all() after a ROLLBACK.
      // A transaction must write ALL its events in this one INSERT: a second INSERT under a second
      // lock would take positions above another transaction's while keeping an older xid, and a
      // reader could pass that other transaction's events before they commit. Group commit, when it
      // comes, has to gather every stream's events into a single call.
      `CREATE OR REPLACE FUNCTION ${schema}.write_append(
        p_stream_id text, p_category text, p_command_id text, p_next_version int, p_last_hash text, p_events jsonb
      ) RETURNS TABLE (first_position bigint, last_position bigint)
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_first bigint;
        v_last bigint;
      BEGIN
        IF jsonb_array_length(p_events) > 0 THEN
          PERFORM pg_advisory_lock(hashtext(${literal}), ${APPEND_LOCK});
          WITH inserted AS (
            INSERT INTO ${schema}.events (stream_id, stream_version, category, type, schema_version, data, metadata, hash)
            SELECT p_stream_id, e.stream_version, p_category, e.type, e.schema_version, e.data, e.metadata, e.hash
            FROM jsonb_to_recordset(p_events)
              AS e(stream_version int, type text, schema_version int, data jsonb, metadata jsonb, hash text)
            ORDER BY e.stream_version
            RETURNING global_position
          )
          SELECT min(global_position), max(global_position) INTO v_first, v_last FROM inserted;
          PERFORM pg_advisory_unlock(hashtext(${literal}), ${APPEND_LOCK});
          INSERT INTO ${schema}.streams AS s (stream_id, category, version, last_hash, last_position)
          VALUES (p_stream_id, p_category, p_next_version, p_last_hash, v_last)
          ON CONFLICT (stream_id) DO UPDATE
            SET version = excluded.version, last_hash = excluded.last_hash, last_position = excluded.last_position;
          PERFORM pg_notify('${channel}', '');
        END IF;
        INSERT INTO ${schema}.commands (command_id, stream_id, next_expected_version, first_version, first_position, last_position)
        VALUES (
          p_command_id, p_stream_id, p_next_version,
          CASE WHEN v_first IS NULL THEN NULL ELSE p_next_version - jsonb_array_length(p_events) + 1 END,
          v_first, v_last
        );
        RETURN QUERY SELECT v_first, v_last;
      END $$`,
    ],
  },
  {
    version: 2,
    name: 'command fingerprints: a commandId reused with another payload is told apart',
    statements: ({ schema, literal, channel }) => [
      // Null for commands recorded before this migration and for those sent without one.
      `ALTER TABLE ${schema}.commands ADD COLUMN IF NOT EXISTS fingerprint text`,
      // The same two steps as in migration 1, which also read and write the command's fingerprint.
      `DROP FUNCTION IF EXISTS ${schema}.lock_stream(text, text)`,
      `CREATE FUNCTION ${schema}.lock_stream(p_stream_id text, p_command_id text)
      RETURNS TABLE (
        command_stream_id text, command_next_expected_version int, command_first_version int,
        command_first_position bigint, command_last_position bigint, command_fingerprint text,
        stream_version int, last_hash text
      ) LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(${literal} || '/' || p_stream_id, 0));
        RETURN QUERY
          SELECT c.stream_id, c.next_expected_version, c.first_version, c.first_position, c.last_position,
                 c.fingerprint, s.version, s.last_hash
          FROM (SELECT 1) AS one
          LEFT JOIN ${schema}.commands c ON c.command_id = p_command_id
          LEFT JOIN ${schema}.streams s ON s.stream_id = p_stream_id;
      END $$`,
      `DROP FUNCTION IF EXISTS ${schema}.write_append(text, text, text, int, text, jsonb)`,
      `CREATE FUNCTION ${schema}.write_append(
        p_stream_id text, p_category text, p_command_id text, p_next_version int, p_last_hash text, p_events jsonb,
        p_fingerprint text
      ) RETURNS TABLE (first_position bigint, last_position bigint)
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_first bigint;
        v_last bigint;
      BEGIN
        IF jsonb_array_length(p_events) > 0 THEN
          PERFORM pg_advisory_lock(hashtext(${literal}), ${APPEND_LOCK});
          WITH inserted AS (
            INSERT INTO ${schema}.events (stream_id, stream_version, category, type, schema_version, data, metadata, hash)
            SELECT p_stream_id, e.stream_version, p_category, e.type, e.schema_version, e.data, e.metadata, e.hash
            FROM jsonb_to_recordset(p_events)
              AS e(stream_version int, type text, schema_version int, data jsonb, metadata jsonb, hash text)
            ORDER BY e.stream_version
            RETURNING global_position
          )
          SELECT min(global_position), max(global_position) INTO v_first, v_last FROM inserted;
          PERFORM pg_advisory_unlock(hashtext(${literal}), ${APPEND_LOCK});
          INSERT INTO ${schema}.streams AS s (stream_id, category, version, last_hash, last_position)
          VALUES (p_stream_id, p_category, p_next_version, p_last_hash, v_last)
          ON CONFLICT (stream_id) DO UPDATE
            SET version = excluded.version, last_hash = excluded.last_hash, last_position = excluded.last_position;
          PERFORM pg_notify('${channel}', '');
        END IF;
        INSERT INTO ${schema}.commands (command_id, stream_id, next_expected_version, first_version, first_position, last_position, fingerprint)
        VALUES (
          p_command_id, p_stream_id, p_next_version,
          CASE WHEN v_first IS NULL THEN NULL ELSE p_next_version - jsonb_array_length(p_events) + 1 END,
          v_first, v_last, p_fingerprint
        );
        RETURN QUERY SELECT v_first, v_last;
      END $$`,
    ],
  },
  {
    version: 3,
    name: "readers wait for the store's own open appenders, not for every transaction on the server",
    statements: ({ schema, literal, channel }) => [
      // As in version 2, and: the append must be the transaction's first write (refused otherwise),
      // and it takes the appender lock before that write and keeps it to the transaction's end.
      `CREATE OR REPLACE FUNCTION ${schema}.write_append(
        p_stream_id text, p_category text, p_command_id text, p_next_version int, p_last_hash text, p_events jsonb,
        p_fingerprint text
      ) RETURNS TABLE (first_position bigint, last_position bigint)
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_first bigint;
        v_last bigint;
      BEGIN
        IF jsonb_array_length(p_events) > 0 THEN
          -- An xid taken before the append lock would not be in position order, and before the
          -- appender lock readers could not see it: either would let a reader skip these events.
          IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'an append must be the first write of its transaction (this one already wrote, as transaction %)',
              pg_current_xact_id_if_assigned()
              USING ERRCODE = 'object_not_in_prerequisite_state';
          END IF;
          PERFORM pg_advisory_xact_lock_shared(hashtext(${literal}), ${APPENDER_LOCK});
          PERFORM pg_advisory_lock(hashtext(${literal}), ${APPEND_LOCK});
          WITH inserted AS (
            INSERT INTO ${schema}.events (stream_id, stream_version, category, type, schema_version, data, metadata, hash)
            SELECT p_stream_id, e.stream_version, p_category, e.type, e.schema_version, e.data, e.metadata, e.hash
            FROM jsonb_to_recordset(p_events)
              AS e(stream_version int, type text, schema_version int, data jsonb, metadata jsonb, hash text)
            ORDER BY e.stream_version
            RETURNING global_position
          )
          SELECT min(global_position), max(global_position) INTO v_first, v_last FROM inserted;
          PERFORM pg_advisory_unlock(hashtext(${literal}), ${APPEND_LOCK});
          INSERT INTO ${schema}.streams AS s (stream_id, category, version, last_hash, last_position)
          VALUES (p_stream_id, p_category, p_next_version, p_last_hash, v_last)
          ON CONFLICT (stream_id) DO UPDATE
            SET version = excluded.version, last_hash = excluded.last_hash, last_position = excluded.last_position;
          PERFORM pg_notify('${channel}', '');
        END IF;
        INSERT INTO ${schema}.commands (command_id, stream_id, next_expected_version, first_version, first_position, last_position, fingerprint)
        VALUES (
          p_command_id, p_stream_id, p_next_version,
          CASE WHEN v_first IS NULL THEN NULL ELSE p_next_version - jsonb_array_length(p_events) + 1 END,
          v_first, v_last, p_fingerprint
        );
        RETURN QUERY SELECT v_first, v_last;
      END $$`,
      // The xid below which every appender of this store has ended, as of now: the oldest xid of a
      // transaction that holds the appender lock and was still running at this statement's
      // snapshot, else the snapshot's xmax. Transactions of other schemas, databases or
      // applications do not count. It must be taken in a statement BEFORE the read it bounds (a
      // later snapshot): an appender that ends between this snapshot and the pg_locks scan is
      // then visible to the read. Why that is enough: an event below the bound has an xid below
      // the xmax, so its append had begun, under the appender lock, when the pg_locks scan ran;
      // if it is still invisible to the read, its transaction was running through that scan and
      // the bound is at most its xid. Under REPEATABLE READ or SERIALIZABLE the read's snapshot
      // is the transaction's, older than the scan, and on a standby pg_locks does not show the
      // primary's appenders: there the bound is the server-wide xmin, as in version 1.
      `CREATE OR REPLACE FUNCTION ${schema}.readable_bound() RETURNS xid8
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_bound xid8;
      BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' OR pg_is_in_recovery() THEN
          RETURN pg_snapshot_xmin(pg_current_snapshot());
        END IF;
        SELECT coalesce(
          (SELECT min(x.xid) FROM pg_snapshot_xip(pg_current_snapshot()) AS x(xid)
            WHERE (x.xid::text::bigint & 4294967295) IN (
              SELECT t.transactionid::text::bigint
              FROM pg_locks a
              JOIN pg_locks t ON t.virtualtransaction = a.virtualtransaction AND t.locktype = 'transactionid'
              WHERE a.locktype = 'advisory' AND a.granted
                AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND a.classid::bigint = (hashtext(${literal})::bigint & 4294967295)
                AND a.objid = ${APPENDER_LOCK} AND a.objsubid = 2)),
          pg_snapshot_xmax(pg_current_snapshot()))
        INTO v_bound;
        RETURN v_bound;
      END $$`,
      // The log's readers: the bound in one statement, the read in the next (a fresh snapshot).
      `CREATE OR REPLACE FUNCTION ${schema}.read_events(p_after bigint, p_category text, p_limit int)
      RETURNS SETOF ${schema}.events
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_bound xid8 := ${schema}.readable_bound();
      BEGIN
        IF p_category IS NULL THEN
          RETURN QUERY SELECT * FROM ${schema}.events e
            WHERE e.global_position > p_after AND e.transaction_id < v_bound
            ORDER BY e.global_position LIMIT p_limit;
        ELSE
          RETURN QUERY SELECT * FROM ${schema}.events e
            WHERE e.category = p_category AND e.global_position > p_after AND e.transaction_id < v_bound
            ORDER BY e.global_position LIMIT p_limit;
        END IF;
      END $$`,
      `CREATE OR REPLACE FUNCTION ${schema}.readable_head() RETURNS bigint
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_bound xid8 := ${schema}.readable_bound();
        v_head bigint;
      BEGIN
        SELECT max(e.global_position) INTO v_head FROM ${schema}.events e WHERE e.transaction_id < v_bound;
        RETURN coalesce(v_head, 0);
      END $$`,
    ],
  },
];

/**
 * Brings the schema up to the newest migration. Idempotent; safe when several processes start at
 * once: they queue on a transaction-level advisory lock taken before anything else, even before
 * CREATE SCHEMA (whose IF NOT EXISTS is not race-free on its own).
 * Returns the versions this call applied. `throughVersion` stops after that version (an upgrade
 * test builds a database as an older release left it); by default every migration is applied.
 */
export async function migrate(sql: SqlClient, schemaName: string = DEFAULT_SCHEMA, options: { throughVersion?: number } = {}): Promise<number[]> {
  const through = options.throughVersion ?? Number.POSITIVE_INFINITY;
  const names = schemaNames(schemaName);
  const { rows } = await sql.query<{ version: number }>(`SELECT current_setting('server_version_num')::int AS version`);
  const serverVersion = Number(rows[0]?.version ?? 0);
  if (serverVersion < 130000) {
    throw new Error(`the event store needs PostgreSQL 13 or newer (xid8, pg_current_xact_id); this server is ${serverVersion}`);
  }
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext(${names.literal}), ${MIGRATION_LOCK})`);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${names.schema}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${names.schema}.schema_migrations (
        version int PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const applied = new Set(await appliedVersions(tx, names));
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version) || migration.version > through) continue;
      for (const statement of migration.statements(names)) await tx.query(statement);
      await tx.query(`INSERT INTO ${names.schema}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      done.push(migration.version);
    }
    return done;
  });
}

async function appliedVersions(tx: SqlExecutor, names: SchemaNames): Promise<number[]> {
  const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${names.schema}.schema_migrations ORDER BY version`);
  return rows.map((row) => Number(row.version));
}
