import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const ALLOWED_PACKAGES = new Set(['decimal.js']);
const FORBIDDEN = [/Date\.now\(/, /new Date\(\s*\)/, /Math\.random\(/, /\bprocess\./, /performance\.now\(/, /crypto\./];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('packages/domain stays pure', () => {
  const files = sourceFiles(SRC);

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(3);
  });

  it.each(files.map((f) => [relative(SRC, f), f]))('%s imports no I/O and reads no clock or randomness', (_, file) => {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    for (const specifier of imports) {
      if (specifier.startsWith('.')) continue;
      expect(ALLOWED_PACKAGES.has(specifier), `${file} imports ${specifier}`).toBe(true);
    }
    for (const pattern of FORBIDDEN) expect(pattern.test(text), `${file} matches ${pattern}`).toBe(false);
  });
});
