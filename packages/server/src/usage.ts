// `pnpm start --help` loads this file alone: it imports nothing.

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What `--help` prints: the variables loadConfig() reads, with their defaults. */
export const USAGE = `Usage: pnpm start [--rebuild <projection>[,<projection>...]]   (or: node packages/server/bin/start.js)

Starts the V2G ledger: the event store, the projections and GraphQL at /graphql. --rebuild rebuilds
the named projections blue/green once started (the live tables serve meanwhile), as REBUILD_PROJECTIONS.
Configuration comes from environment variables:

  DATABASE_URL    PostgreSQL server, postgres://user@host:5432/db   (unset: embedded PGlite)
  DATA_DIR        where PGlite keeps its files                      (default ./data)
  EVENTSTORE_URL  event log on KurrentDB, esdb://host:2113?tls=false (unset: PostgreSQL)
  DB_SCHEMA       PostgreSQL schema of the log and read models       (default v2g)
  PORT            HTTP port, 1-65535                                 (default 4000)
  LOG_LEVEL       ${LOG_LEVELS.join(', ')}   (default info)
  LOG_FORMAT      json (one JSON object a line) or pretty (for people)  (default pretty on a terminal
                  outside production, json otherwise)
  NODE_ENV        production turns GraphiQL off, and sets the production defaults below (default development)
  READY_MAX_LAG   /readyz is 503 when a projection lags more events  (default 1000)
  CHARGER_RESPONSE_MS              how long chargers take to follow a setpoint, 0-300000 ms; setpoints are
                                   lowered that long before a congestion rule starts (default 5000)
  ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL as-of questions (invoice, statement) one caller may have in progress,
                                   1-1000; one more is refused with TOO_MANY_REQUESTS (default 4)
  FIELD_TIME_MAX_AGE_HOURS         how long ago a reading, plug-in or unplug may be dated, 1-8784 (default 168)
  DEPARTURE_HORIZON_HOURS          how far ahead a departure may be, 1-8784                   (default 168)
  LEDGER_CHECKPOINT_EVERY_EVENTS   a log checkpoint every N events, 0 off  (default 10000)
  LEDGER_CHECKPOINT_EVERY_SECONDS  ... or every T seconds with new events, 0 off (default 600)
  LEDGER_CHECKPOINT_KEY            Ed25519 key signing checkpoints, PEM or 64 hex (unset: unsigned)
  LEDGER_CHECKPOINT_PUBLIC_KEY     its public key, for pnpm ledger verify (PEM or 64 hex)
  LEDGER_CHECKPOINT_SINK_FILE      absolute path of a file outside the database: every checkpoint is
                                   appended to it as a JSON line; checkpoints only extend the history
                                   it holds, and pnpm ledger verify checks the store against it
  REBUILD_PROJECTIONS              projections to rebuild blue/green once started, e.g. billing,settlement
                                   (also: pnpm start --rebuild billing,settlement); a projection whose code
                                   version changed is only rebuilt when named here (or by the CLI/GraphQL)
  AUTH_BOOTSTRAP_OPERATOR_KEY      an operator API key you chose, v2g_<keyId>_<secret>; recorded hashed at start
  AUTH_JWT_ISSUER                  accept JWT bearer tokens from this issuer (iss) ...
  AUTH_JWT_AUDIENCE                ... for this audience (aud) ...
  AUTH_JWT_SECRET                  ... signed HS256 with this secret (at least 32 bytes), or
  AUTH_JWT_PUBLIC_KEY              ... signed with this key's private half (PEM: RSA, EC or Ed25519), or
  AUTH_JWT_JWKS_URL                ... signed with a key of the issuer's JSON Web Key Set (https; follows rotations)
  AUTH_JWT_ALGORITHMS              with AUTH_JWT_JWKS_URL: the algorithms accepted, comma-separated (default: RS*, PS*, ES*, EdDSA)
  GRAPHQL_MAX_DEPTH                how deeply an operation's fields may nest                 (default 12)
  GRAPHQL_MAX_COMPLEXITY           fields x page sizes (first/last) an operation may cost    (default 10000)
  GRAPHQL_MAX_ALIASES              aliases in one operation                                  (default 30)
  GRAPHQL_MAX_TOKENS               tokens in one GraphQL document                            (default 2000)
  HTTP_MAX_BODY_BYTES              largest request body, 413 above                           (default 1048576)
  RATE_LIMIT_PER_MINUTE            requests per minute per API key/token, or per client IP without one; 0 off (default 1200)
  RATE_LIMIT_BURST                 requests at once before the per-minute rate applies, 429 past it (default 200)
  CORS_ORIGINS                     origins browsers may call from, comma-separated, or *  (unset: none but this server)
  CORS_ALLOW_CREDENTIALS           true: allow credentials cross-origin (not with *)        (default false)
  INTROSPECTION_ROLES              roles that may use __schema/__type, comma-separated, * or none
                                   (default production: operator; otherwise *)
  GRAPHQL_SUGGESTIONS              true: errors keep "Did you mean ...?" hints  (default production: false; otherwise true)
  READYZ_DETAILS                   who sees /readyz's reasons and projections: public or operator (an operator's key)
                                   (default production: operator; otherwise public)

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT), 1 failed to start or to stop, 2 bad configuration,
3 in use: PORT or the DATA_DIR (PGlite serves one process) is held by another process; nothing was opened.
`;
