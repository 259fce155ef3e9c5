/**
 * The static import graph of the workspace's TypeScript files, and its circles.
 *
 * Every `import ... from`, `import type`, `export ... from` and `import x = require(...)` counts
 * (type-only ones too: a circle of types is still two modules that cannot be understood, moved or
 * tested apart). Dynamic `import()` does not: it loads on demand, by design. Specifiers resolve
 * like Node with this repository's conventions: relative paths name the file (`./x.ts`), and a
 * workspace package (`@v2g/ledger`) is its package.json `exports` entry. Anything else (node:,
 * npm packages) is outside the graph.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export type ImportGraph = Map<string, string[]>;

const SKIP = new Set(['node_modules', 'dist', '.git']);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The workspace packages under `roots` (folders holding a package.json): name -> entry file. */
function workspacePackages(root: string, roots: readonly string[]): Map<string, string> {
  const packages = new Map<string, string>();
  const consider = (dir: string) => {
    let manifest: { name?: string; exports?: unknown; main?: string };
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest;
    } catch {
      return;
    }
    if (!manifest.name) return;
    const exports = manifest.exports;
    const entry = typeof exports === 'string' ? exports : exports && typeof exports === 'object' ? (exports as Record<string, unknown>)['.'] : manifest.main;
    if (typeof entry === 'string') packages.set(manifest.name, resolve(dir, entry));
  };
  for (const top of roots) {
    const base = join(root, top);
    consider(base);
    for (const entry of readdirSync(base, { withFileTypes: true })) if (entry.isDirectory() && !SKIP.has(entry.name)) consider(join(base, entry.name));
  }
  return packages;
}

/** The module specifiers a file imports statically. */
function staticImports(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifiers.push(statement.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteral(statement.moduleReference.expression)) {
      specifiers.push(statement.moduleReference.expression.text);
    }
  }
  return specifiers;
}

/** The graph of every TypeScript file under `roots` (folders of `root`), by path relative to `root`. */
export function importGraph(root: string, roots: readonly string[]): ImportGraph {
  const packages = workspacePackages(root, roots);
  const files = roots.flatMap((top) => tsFiles(join(root, top)));
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  const isFile = (path: string) => {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  for (const file of files) {
    const targets = new Set<string>();
    for (const specifier of staticImports(file, readFileSync(file, 'utf8'))) {
      let target: string | undefined;
      if (specifier.startsWith('.')) target = resolve(dirname(file), specifier);
      else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        target = specifier === name ? packages.get(name) : undefined;
      }
      if (target && (known.has(target) || isFile(target))) targets.add(relative(root, target));
    }
    graph.set(relative(root, file), [...targets].sort());
  }
  return graph;
}

/**
 * The import circles: every strongly connected set of files larger than one (or a file that
 * imports itself), each as one cycle through it, from its smallest path, for the message.
 */
export function importCircles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components, iteratively (deep graphs would overflow the stack).
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const start of graph.keys()) {
    if (indices.has(start)) continue;
    const work: [node: string, next: number][] = [[start, 0]];
    indices.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const [node, i] = frame;
      const edges = graph.get(node) ?? [];
      if (i < edges.length) {
        frame[1] = i + 1;
        const to = edges[i]!;
        if (!indices.has(to)) {
          indices.set(to, index);
          low.set(to, index++);
          stack.push(to);
          onStack.add(to);
          work.push([to, 0]);
        } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, indices.get(to)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent[0], Math.min(low.get(parent[0])!, low.get(node)!));
      if (low.get(node) === indices.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component);
      }
    }
  }
  return components.map((component) => cycleThrough(graph, new Set(component))).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One cycle inside a strongly connected set: from its smallest file, shortest way back to it. */
function cycleThrough(graph: ImportGraph, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}
