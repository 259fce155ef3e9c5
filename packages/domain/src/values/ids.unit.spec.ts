import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import { ID_RULES, idProblem, parseCommandId, parseId, type IdKind } from './ids.ts';

const KINDS: IdKind[] = ['id', 'commandId', 'reference'];
const SAFE = [...'abcxyzABCXYZ0189_.:@-'];

describe("the ledger's id rules", () => {
  it('accepts every id of letters, digits and _ . : @ - within the length, starting with a letter or digit', () => {
    const id = fc.tuple(fc.constantFrom(...'aZ09'), fc.array(fc.constantFrom(...SAFE), { maxLength: 63 })).map(([first, rest]) => first + rest.join(''));
    fc.assert(
      fc.property(id, fc.constantFrom(...KINDS), (value, kind) => {
        expect(parseId('siteId', value, kind)).toBe(value);
      }),
    );
  });

  it('refuses any id holding a character outside the set (NUL, control, space, surrogate), naming the field', () => {
    const bad = fc.constantFrom('\u0000', '\u0001', '\n', '\t', ' ', '\u007f', '\uD800', '\uDC00', '\u00e9', '"', "'", '\\', ';', '%', '$', '#');
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), bad, fc.string({ maxLength: 20 }), fc.constantFrom(...KINDS), (before, char, after, kind) => {
        const value = `a${before}${char}${after}`;
        const error = (() => {
          try {
            parseId('input.sessionId', value, kind);
            return null;
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(InvalidCommand);
        expect(error).toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'input.sessionId' } });
      }),
    );
  });

  it('bounds the length of each kind and says the bound', () => {
    for (const kind of KINDS) {
      const max = ID_RULES[kind].maxLength;
      expect(idProblem('a'.repeat(max), kind)).toBeNull();
      expect(idProblem('a'.repeat(max + 1), kind)).toBe(`is ${max + 1} characters long; at most ${max}`);
    }
    expect(idProblem('', 'id')).toBe('is empty; an id is 1-64 letters, digits or _ . : @ - (starting with a letter or digit)');
    expect(idProblem(42, 'id')).toBe('42 is not a string');
    expect(idProblem('-a', 'id')).toMatch(/starting with a letter or digit/);
  });

  it('lets a commandId carry a UUID, a slash or base64 characters, which entity ids may not', () => {
    expect(parseCommandId('commandId', 'allocate/s1/2026-01-01T00:00:00.000Z/2b6f')).toContain('/');
    expect(parseCommandId('commandId', 'b64+/=')).toBe('b64+/=');
    expect(() => parseId('siteId', 'a/b')).toThrow(InvalidCommand);
    expect(() => parseCommandId('commandId', 'c\u0000')).toThrow(/invalid commandId: "c\\u0000" must be/);
  });
});
