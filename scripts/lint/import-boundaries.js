// Two ESLint rules that resolve relative import paths against the importing file, which
// no-restricted-imports (it matches the specifier as written) cannot do:
//   no-package-internals: a workspace package (packages/*, projections/*) is imported by its name
//     and entry points only (those its package.json `exports` declares), never as `@v2g/<pkg>/<path>` nor by a relative path into its folder
//     from outside it.
//   module-imports-via-index: a file inside one module folder (`<modulesDir>/<name>/...`) imports
//     a sibling module through that module's index.ts only.
// Both take the repository root as an option, so the result does not depend on ESLint's cwd.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Every way a module names another: import/export-from declarations, import(), `import x = require()`. */
function importSources(report) {
  const check = (node) => {
    if (node && node.type === 'Literal' && typeof node.value === 'string') report(node, node.value);
  };
  return {
    ImportDeclaration: (node) => check(node.source),
    ExportNamedDeclaration: (node) => check(node.source),
    ExportAllDeclaration: (node) => check(node.source),
    ImportExpression: (node) => check(node.source),
    TSExternalModuleReference: (node) => check(node.expression),
  };
}

/** A path relative to the root, with forward slashes; null when outside it. */
function fromRoot(root, path) {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..')) return null;
  return rel.split(sep).join('/');
}

/**
 * The package folder holding a repository path (`packages/ledger`, `projections/billing`), or null.
 * scripts/ is a workspace package too, but one without an entry point (the tools, and fixtures the
 * tests share), so the others import its files by path.
 */
function packageFolderOf(rel) {
  const parts = rel.split('/');
  if ((parts[0] === 'packages' || parts[0] === 'projections') && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return null;
}

/** The subpaths each workspace package declares in its package.json `exports` ('@v2g/testing/workloads'): entry points too. */
const declaredSubpaths = new Map();
function entryPointsOf(root) {
  let entries = declaredSubpaths.get(root);
  if (entries) return entries;
  entries = new Set();
  for (const top of ['packages', 'projections']) {
    if (!existsSync(join(root, top))) continue;
    for (const dir of readdirSync(join(root, top))) {
      const manifest = join(root, top, dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name, exports } = JSON.parse(readFileSync(manifest, 'utf8'));
      if (exports && typeof exports === 'object') for (const key of Object.keys(exports)) if (key.startsWith('./') && key.length > 2) entries.add(`${name}/${key.slice(2)}`);
    }
  }
  declaredSubpaths.set(root, entries);
  return entries;
}

const rootOption = {
  type: 'object',
  properties: { root: { type: 'string' }, modulesDir: { type: 'string' } },
  required: ['root'],
  additionalProperties: false,
};

const noPackageInternals = {
  meta: {
    type: 'problem',
    docs: { description: "Import a workspace package by its name (its entry point), never a file inside another package's folder" },
    schema: [rootOption],
    messages: {
      subpath: "'{{source}}' reaches into {{pkg}}'s internals: import '{{pkg}}' (its entry point, or a subpath its package.json exports) instead.",
      relative: "'{{source}}' reaches into {{target}}, another package's folder: import that package by its name instead.",
    },
  },
  create(context) {
    const { root } = context.options[0];
    const file = fromRoot(root, context.filename);
    const own = file === null ? null : packageFolderOf(file);
    return importSources((node, source) => {
      const subpath = /^(@v2g\/[^/]+)\/./.exec(source);
      if (subpath && !entryPointsOf(root).has(source)) {
        context.report({ node, messageId: 'subpath', data: { source, pkg: subpath[1] } });
        return;
      }
      if (!source.startsWith('.')) return;
      const target = fromRoot(root, resolve(dirname(context.filename), source));
      const targetFolder = target === null ? null : packageFolderOf(target);
      if (targetFolder !== null && targetFolder !== own) context.report({ node, messageId: 'relative', data: { source, target: targetFolder } });
    });
  },
};

const moduleImportsViaIndex = {
  meta: {
    type: 'problem',
    docs: { description: 'Inside a module folder, import a sibling module through its index.ts only' },
    schema: [rootOption],
    messages: {
      internal: "'{{source}}' reaches into the {{module}} module's internals: import '{{index}}' (its public index.ts) instead.",
    },
  },
  create(context) {
    const { root, modulesDir } = context.options[0];
    if (!modulesDir) throw new Error('module-imports-via-index needs the modulesDir option');
    /** The module a repository path lies in (`billing` for `<modulesDir>/billing/...`), or null. */
    const moduleOf = (rel) => {
      if (rel === null || !rel.startsWith(`${modulesDir}/`)) return null;
      const parts = rel.slice(modulesDir.length + 1).split('/');
      return parts.length > 1 ? parts[0] : null;
    };
    const own = moduleOf(fromRoot(root, context.filename));
    if (own === null) return {};
    return importSources((node, source) => {
      if (!source.startsWith('.')) return;
      const target = fromRoot(root, resolve(dirname(context.filename), source));
      const module = moduleOf(target);
      if (module === null || module === own) return;
      const inside = target.slice(modulesDir.length + 1 + module.length + 1);
      if (inside === 'index.ts' || inside === 'index.js') return;
      const index = relative(dirname(context.filename), resolve(root, modulesDir, module, 'index.ts'))
        .split(sep)
        .join('/');
      context.report({ node, messageId: 'internal', data: { source, module, index } });
    });
  },
};

export default {
  meta: { name: 'v2g-import-boundaries' },
  rules: { 'no-package-internals': noPackageInternals, 'module-imports-via-index': moduleImportsViaIndex },
};
