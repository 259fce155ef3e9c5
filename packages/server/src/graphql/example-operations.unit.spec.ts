import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from './schema/index.ts';
import { EXAMPLE_OPERATIONS } from './yoga.ts';

describe('the operations GraphiQL opens with', () => {
  it('are valid against the schema', () => {
    expect(validate(schema, parse(EXAMPLE_OPERATIONS)).map((e) => e.message)).toEqual([]);
  });
});
