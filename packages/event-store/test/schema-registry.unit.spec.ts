import { describe, expect, it } from 'vitest';
import { SchemaRegistry } from '../src/schema-registry.ts';

describe('SchemaRegistry', () => {
  it('compiles every schema of schemas/events under strict mode', () => {
    const registry = SchemaRegistry.fromDirectory();
    expect(registry.types().length).toBeGreaterThan(40);
    expect(() => registry.compileAll()).not.toThrow();
  });

  it('compiles a schema when its first event is validated, and refuses a schema strict mode refuses there and in compileAll', () => {
    const good = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false };
    const bad = { type: 'object', properties: {}, notAKeyword: true };
    const registry = new SchemaRegistry([
      { type: 'Good', version: 1, schema: good },
      { type: 'Bad', version: 1, schema: bad },
    ]);
    expect(() => registry.validate('Good', 1, { id: 'a' })).not.toThrow();
    expect(() => registry.validate('Good', 1, { id: 1 })).toThrow(/id/);
    expect(() => registry.validate('Bad', 1, {})).toThrow(/notAKeyword/);
    expect(() => registry.compileAll()).toThrow(/notAKeyword/);
  });
});
