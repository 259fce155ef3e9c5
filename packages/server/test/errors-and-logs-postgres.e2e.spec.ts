import { randomUUID } from 'node:crypto';
import { connectPostgres } from '@v2g/event-store';
import { describe, expect, inject, it } from 'vitest';
import { freePort, startMain, waitForLine } from './child-server.ts';
import { describeErrorsAndLogs } from './errors-and-logs.scenarios.ts';
import { postGraphQL } from './harness.ts';

// A schema of its own on the server (created by the store, dropped when the file ends).
const postgresUrl = inject('postgresUrl');
describeErrorsAndLogs('a PostgreSQL server', postgresUrl === null ? null : { databaseUrl: postgresUrl });

describe.skipIf(postgresUrl === null)('pnpm start with a password in DATABASE_URL', () => {
  it("never writes the password, nor a caller's credentials, to stdout or stderr, even at LOG_LEVEL=debug", async () => {
    // The test server trusts local connections: a password it ignores is as good as a real one here.
    const url = new URL(postgresUrl!);
    if (url.password === '') url.password = `pw-${randomUUID()}`;
    const password = decodeURIComponent(url.password);
    const schema = `secrets_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const port = await freePort();
    const running = startMain({ DATABASE_URL: url.toString(), DB_SCHEMA: schema, PORT: String(port), LOG_LEVEL: 'debug' });
    try {
      await waitForLine(running, `listening on http://localhost:${port}`, 60_000);
      const base = `http://127.0.0.1:${port}`;
      const secretHeader = `x-api-key-${randomUUID()}`;
      const secretVariable = `pw-${randomUUID()}`;
      const ok = await postGraphQL(base, '{ __typename }', { password: secretVariable }, { 'x-api-key': secretHeader, cookie: `s=${secretHeader}` });
      expect(ok.status).toBe(200);
      const refused = await postGraphQL(base, '{ __typename }', undefined, { authorization: `Bearer v2g_nosuchkey_${secretVariable}-${secretVariable}` });
      expect(refused.status).toBe(401);
      running.child.kill('SIGTERM');
      expect(await running.exit).toBe(0);
      const output = running.stdout() + running.stderr();
      expect(running.lines.map((l) => l.msg)).toContain('request completed');
      for (const secret of [password, secretHeader, secretVariable]) expect(output).not.toContain(secret);
    } finally {
      running.child.kill('SIGKILL');
      const sql = await connectPostgres(postgresUrl!);
      await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.close();
    }
  }, 90_000);

  it('exits with code 2 on a bad DATABASE_URL without echoing it', async () => {
    const password = `pw-${randomUUID()}`;
    const running = startMain({ DATABASE_URL: `mysql://ledger:${password}@db.internal/ledger` });
    expect(await running.exit).toBe(2);
    expect(running.stderr()).toContain('configuration error: DATABASE_URL must start with postgres:// or postgresql://');
    expect(running.stdout() + running.stderr()).not.toContain(password);
  });
});
