import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Role } from '@v2g/domain';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Forbidden, scopesOf, type AuthScopes } from './access.ts';
import type { GraphQLContext } from './context.ts';
import './default-deny-plugin.ts';
import { schema } from './schema/index.ts';

/** A context whose ledger fails the test if a resolver (or a loader) touches it. */
function contextOf(role: Role, subject: string | null = null): GraphQLContext {
  const ledger = new Proxy(
    {},
    {
      get: (_t, name) => {
        throw new Error(`the ledger was used (${String(name)})`);
      },
    },
  );
  return {
    requestId: 'r',
    log: pino({ level: 'silent' }),
    principal: { id: `apikey:${role}`, kind: 'apikey', role, subject, name: role },
    actor: `apikey:${role}`,
    ledger: ledger as GraphQLContext['ledger'],
  };
}

const rootFields = (s: GraphQLSchema) =>
  [s.getQueryType(), s.getMutationType(), s.getSubscriptionType()].flatMap((type) => (type ? Object.values(type.getFields()).map((field) => ({ type: type.name, field })) : []));

describe('access to the GraphQL schema', () => {
  it('names authScopes on every Query, Mutation and Subscription field (no field is open by omission)', () => {
    const unscoped = rootFields(schema)
      .filter(({ field }) => (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes === undefined)
      .map(({ type, field }) => `${type}.${field.name}`);
    expect(unscoped, 'add authScopes (see graphql/access.ts) and an entry in test/roles-api.scenarios.ts').toEqual([]);
  });

  it('refuses a role before the resolver runs: FORBIDDEN, nothing touched', async () => {
    const result = await execute({
      schema,
      document: parse('mutation { registerSite(input: { commandId: "c", siteId: "s", name: "n", importLimitW: "1", exportLimitW: "0" }) { __typename } }'),
      contextValue: contextOf('auditor'),
    });
    expect(result.errors?.map((e) => [e.originalError?.constructor, e.message])).toEqual([
      [Forbidden, 'the role auditor may not use Mutation.registerSite: it is open to operator'],
    ]);
  });

  it("refuses a trader another trader's orders, from the arguments alone", async () => {
    const result = await execute({
      schema,
      document: parse('{ orders(traderId: "bob") { totalCount } }'),
      contextValue: contextOf('trader', 'alice'),
    });
    expect(result.errors?.[0]?.originalError).toBeInstanceOf(Forbidden);
    // What was refused and why: not the role, the other trader's id.
    expect(result.errors?.[0]?.message).toBe('a trader may use Query.orders only for their own trader id; you are alice, the request is for bob');
    expect((result.errors?.[0]?.originalError as Forbidden).details).toEqual({
      field: 'Query.orders',
      role: 'trader',
      reason: 'NOT_OWN_ACCOUNT',
      subject: 'alice',
      requested: 'bob',
    });
  });

  it('leaves a root field without authScopes to the operator alone (default deny)', async () => {
    const builder = new SchemaBuilder<{ Context: GraphQLContext; AuthScopes: AuthScopes }>({
      plugins: [ScopeAuthPlugin, 'defaultDeny'],
      scopeAuth: { authScopes: (context) => scopesOf(context) },
    });
    builder.queryType({ fields: (t) => ({ unscoped: t.string({ resolve: () => 'yes' }), open: t.string({ authScopes: { driver: true }, resolve: () => 'yes' }) }) });
    const small = builder.toSchema();
    const run = (role: Role, query: string) =>
      execute({ schema: small, document: parse(query), contextValue: contextOf(role) }) as Promise<{ data?: unknown; errors?: { originalError?: unknown }[] }>;
    expect((await run('operator', '{ unscoped }')).data).toEqual({ unscoped: 'yes' });
    for (const role of ['integrator', 'auditor', 'trader', 'fleet_manager', 'driver'] as const) {
      expect((await run(role, '{ unscoped }')).errors?.[0]?.originalError).toBeInstanceOf(Forbidden);
    }
    expect((await run('driver', '{ open }')).data).toEqual({ open: 'yes' });
  });
});
