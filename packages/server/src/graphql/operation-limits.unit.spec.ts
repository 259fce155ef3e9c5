import { getIntrospectionQuery, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPERATION_LIMITS } from '../hardening-config.ts';
import { DEFAULT_PAGE_SIZE } from './cursor.ts';
import { countTokens, LIST_SIZE_ESTIMATE, limitError, measureOperation } from './operation-limits.ts';
import { schema } from './schema/index.ts';
import { exampleOperations } from './example-operations.ts';

const measure = (query: string, variables?: Record<string, unknown>, operationName?: string) => {
  const document = parse(query);
  expect(validate(schema, document).map((e) => e.message)).toEqual([]);
  return measureOperation(schema, document, operationName, variables)!;
};

const STREAM_PAGE = (first: string) => `{ streams(first: ${first}) { totalCount edges { node { streamId } } } }`;

describe('measureOperation', () => {
  it('counts depth in fields; fragments and inline fragments add no level', () => {
    const nested = '{ streams(first: 1) { edges { node { events(first: 1) { edges { node { metadata { actor } } } } } } } }';
    expect(measure(nested).depth).toBe(8);
    const withFragments = `
      { streams(first: 1) { edges { node { ...Events } } } }
      fragment Events on Stream { events(first: 1) { edges { node { ... on RecordedEvent { metadata { actor } } } } } }`;
    expect(measure(withFragments).depth).toBe(8);
  });

  it('multiplies what a connection selects by first, from a literal, a variable, its default, else the default page size', () => {
    // streams 1 + totalCount 1 + edges (1 + first × (node 1 + streamId 1))
    expect(measure(STREAM_PAGE('10')).complexity).toBe(1 + 1 + (1 + 10 * 2));
    const byVariable = 'query($n: Int) { streams(first: $n) { totalCount edges { node { streamId } } } }';
    expect(measure(byVariable, { n: 50 }).complexity).toBe(1 + 1 + (1 + 50 * 2));
    expect(measure(byVariable, {}).complexity).toBe(1 + 1 + (1 + DEFAULT_PAGE_SIZE * 2));
    expect(measure('query($n: Int = 5) { streams(first: $n) { totalCount edges { node { streamId } } } }', {}).complexity).toBe(1 + 1 + (1 + 5 * 2));
    expect(measure('{ streams { totalCount edges { node { streamId } } } }').complexity).toBe(1 + 1 + (1 + DEFAULT_PAGE_SIZE * 2));
  });

  it('multiplies nested connections, and lists of unknown length by an estimate', () => {
    const nested = '{ streams(first: 10) { edges { node { events(first: 30) { edges { node { type } } } } } } }';
    const events = 1 + (1 + 30 * (1 + 1));
    expect(measure(nested).complexity).toBe(1 + (1 + 10 * (1 + events)));
    expect(measure('{ site(siteId: "x") { nodes { nodeId kind } } }').complexity).toBe(1 + (1 + LIST_SIZE_ESTIMATE * 2));
  });

  it("measures a fragment spread inside a connection with that connection's page", () => {
    const query = `
      { a: streams(first: 2) { ...Page } b: streams(first: 40) { ...Page } }
      fragment Page on StreamConnection { edges { node { streamId } } }`;
    expect(measure(query).complexity).toBe(1 + (1 + 2 * 2) + (1 + (1 + 40 * 2)));
  });

  it('counts aliases, those in fragments once per spread', () => {
    const query = `
      { a: projections { name } ...F b: streams(first: 1) { ...G } c: streams(first: 1) { ...G } }
      fragment F on Query { d: projections { n: name } }
      fragment G on StreamConnection { e: totalCount }`;
    expect(measure(query).aliases).toBe(3 + 2 + 2);
  });

  it('picks the operation by name, and leaves introspection and __typename out', () => {
    const two = `query Small { projections { name } } query Big { ${STREAM_PAGE('100').slice(1, -1)} }`;
    expect(measure(two, {}, 'Small').complexity).toBe(1 + LIST_SIZE_ESTIMATE);
    expect(measure(two, {}, 'Big').complexity).toBe(1 + 1 + (1 + 100 * 2));
    expect(measureOperation(schema, parse(two), undefined, {})).toBeNull();
    expect(measure('{ __typename __schema { types { name fields { name type { name ofType { name } } } } } }')).toEqual({ depth: 1, complexity: 0, aliases: 0 });
  });

  it('does not loop on a fragment cycle (which validation refuses)', () => {
    const cyclic = parse('{ projections { ...A } } fragment A on Projection { name ...B } fragment B on Projection { state ...A }');
    expect(measureOperation(schema, cyclic)).toMatchObject({ depth: 2 });
  });
});

describe('limitError', () => {
  it("names the limit broken, its value and the operation's, with a code", () => {
    const limits = { maxDepth: 5, maxComplexity: 100, maxAliases: 2, maxTokens: 100 };
    expect(limitError({ depth: 5, complexity: 100, aliases: 2 }, limits)).toBeNull();
    const deep = limitError({ depth: 6, complexity: 1, aliases: 0 }, limits)!;
    expect(deep.message).toBe('The operation nests 6 fields deep; the limit is 5.');
    expect(deep.extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', limit: 5, actual: 6 });
    expect(limitError({ depth: 1, complexity: 101, aliases: 0 }, limits)!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 100, actual: 101 });
    expect(limitError({ depth: 1, complexity: 1, aliases: 3 }, limits)!.extensions).toMatchObject({ code: 'TOO_MANY_ALIASES', limit: 2, actual: 3 });
  });
});

describe('the default limits', () => {
  it("let GraphiQL's example operations and its introspection query through", () => {
    const document = parse(exampleOperations(Date.now()));
    expect(countTokens(exampleOperations(Date.now()))).toBeLessThanOrEqual(DEFAULT_OPERATION_LIMITS.maxTokens / 2);
    for (const definition of document.definitions) {
      if (definition.kind !== 'OperationDefinition') continue;
      const cost = measureOperation(schema, document, definition.name!.value, {})!;
      expect(limitError(cost, DEFAULT_OPERATION_LIMITS), definition.name!.value).toBeNull();
    }
    const introspection = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true });
    expect(countTokens(introspection)).toBeLessThanOrEqual(DEFAULT_OPERATION_LIMITS.maxTokens);
    expect(limitError(measureOperation(schema, parse(introspection))!, DEFAULT_OPERATION_LIMITS)).toBeNull();
  });
});

describe('countTokens', () => {
  it('counts what the parser reads, comments aside', () => {
    expect(countTokens('{ a(b: 1) { c } }')).toBe(11);
    expect(countTokens('{ a(b: 1) { c } } # a comment')).toBe(11);
    expect(countTokens('{ a')).toBe(2);
  });
});
