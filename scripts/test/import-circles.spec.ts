import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importCircles, importGraph } from '../lib/import-graph.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('import circles', () => {
  it('there are none in packages/, projections/ and scripts/ (type-only imports and re-exports included)', () => {
    const graph = importGraph(ROOT, ['packages', 'projections', 'scripts']);
    // The graph is real: the packages' entry points and the edges between packages are in it.
    expect(graph.get('packages/ledger/src/index.ts')).toContain('packages/read-model/src/index.ts');
    expect(graph.get('projections/billing/src/billing-projection.ts')).toContain('packages/read-model/src/index.ts');
    expect(graph.size).toBeGreaterThan(300);
    expect(importCircles(graph).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('no file under projections/ imports @v2g/ledger (the contract is @v2g/read-model)', () => {
    const graph = importGraph(ROOT, ['packages', 'projections']);
    const offending = [...graph].filter(([file, to]) => file.startsWith('projections/') && to.some((t) => t.startsWith('packages/ledger/'))).map(([file]) => file);
    expect([...graph.keys()].filter((file) => file.startsWith('projections/')).length).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });

  describe('the checker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-circles-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };

    it('finds a circle of type imports, one through a workspace package name and a re-export, and a self-import; ignores dynamic imports and outside modules', () => {
      write('packages/a/package.json', JSON.stringify({ name: '@t/a', exports: { '.': './src/index.ts' } }));
      write('packages/a/src/index.ts', "export * from './one.ts';\n");
      write('packages/a/src/one.ts', "import { b } from '@t/b';\nexport const one = (x: unknown) => b(x);\n");
      write('packages/c/src/x.ts', "import type { Y } from './y.ts';\nexport type X = Y[];\n");
      write('packages/c/src/y.ts', "export type { X as Y } from './x.ts';\n");
      write('packages/b/package.json', JSON.stringify({ name: '@t/b', exports: { '.': './src/index.ts' } }));
      write('packages/b/src/index.ts', "import { one } from '@t/a';\nimport 'node:fs';\nexport const b = (x: unknown) => [x, one];\n");
      write('packages/b/src/self.ts', "export * from './self.ts';\n");
      write('packages/b/src/lazy.ts', "import { c } from './lazier.ts';\nexport const lazy = () => c;\n");
      write('packages/b/src/lazier.ts', "export const c = () => import('./lazy.ts');\n");
      const circles = importCircles(importGraph(dir, ['packages']));
      expect(circles).toEqual(
        [
          ['packages/a/src/index.ts', 'packages/a/src/one.ts', 'packages/b/src/index.ts', 'packages/a/src/index.ts'],
          ['packages/c/src/x.ts', 'packages/c/src/y.ts', 'packages/c/src/x.ts'],
          ['packages/b/src/self.ts', 'packages/b/src/self.ts'],
        ].sort((x, y) => x[0]!.localeCompare(y[0]!)),
      );
    });
  });
});
