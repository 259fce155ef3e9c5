import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from './print-schema.ts';

describe('schemas/graphql/schema.graphql', () => {
  it('is the SDL the code builds', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    const printed = printedSchema();
    if (committed !== printed) {
      expect.fail(
        `schemas/graphql/schema.graphql differs from the schema the code builds: run \`pnpm schema:print\` and commit the result.\n` + firstDifference(committed, printed),
      );
    }
  });
});

function firstDifference(committed: string, printed: string): string {
  const a = committed.split('\n');
  const b = printed.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line < 0 ? a.length : line;
  return `first difference at line ${at + 1}:\n  committed: ${JSON.stringify(a[at])}\n  code:      ${JSON.stringify(b[at])}`;
}
