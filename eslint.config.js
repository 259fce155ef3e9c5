// ESLint: the recommended JavaScript and typescript-eslint rules (syntax only, no type-aware rules:
// tsc already type-checks, and type-aware linting is too slow for this machine).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';
import importBoundaries from './scripts/lint/import-boundaries.js';

const ROOT = import.meta.dirname;
const PURE_DOMAIN = 'packages/domain has no I/O, clock or randomness';
/** Node's own modules by their bare names (fs, net, http, fs/promises, ...). */
const NODE_BUILTINS = new RegExp(`^(${builtinModules.filter((name) => !name.startsWith('_')).join('|')})(/|$)`).source;

export default defineConfig(
  { ignores: ['**/node_modules/', '**/dist/', 'packages/server/dist-test-*/', 'data/', '.vitest-*'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // The input checks and the terminal specs match NUL and ESC characters on purpose.
      'no-control-regex': 'off',
      // A leading underscore marks a binding kept unused on purpose (`{ t: _, ...rest }`, `for (const _ of it)`), as tsc's noUnused* allow.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Pothos plugins extend its types by declaration merging into `declare global { namespace PothosSchemaTypes }`.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },
  {
    files: ['packages/*/test/**', '**/*.spec.ts'],
    rules: {
      // Tests read GraphQL and HTTP responses (untyped JSON) by path; `any` there is the established style.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },

  // Import fences. Each area sets no-restricted-imports once: the areas do not overlap, so no
  // block replaces another's list.
  {
    plugins: { v2g: importBoundaries },
    rules: { 'v2g/no-package-internals': ['error', { root: ROOT }] },
  },
  {
    files: ['packages/domain/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: `${PURE_DOMAIN}: no Node module.` },
            { regex: NODE_BUILTINS, message: `${PURE_DOMAIN}: no Node module.` },
            {
              regex: '^(pg|pg-[^/]+|@electric-sql/pglite|@eventstore/db-client|express|graphql[^/]*|@graphql-[^/]+/[^/]+|@pothos/[^/]+|pino[^/]*)(/|$)',
              message: `${PURE_DOMAIN}: no database, HTTP, GraphQL or logging library.`,
            },
            { regex: '^@v2g/', message: 'packages/domain depends on no other workspace package.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/domain/src/**'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: `${PURE_DOMAIN}: take the instant as an argument.` },
        { object: 'Math', property: 'random', message: `${PURE_DOMAIN}: take random values as an argument.` },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `${PURE_DOMAIN}: new Date() reads the clock; take the instant as an argument.` },
        { selector: "CallExpression[callee.name='Date']", message: `${PURE_DOMAIN}: Date() reads the clock; take the instant as an argument.` },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'setTimeout', 'setInterval', 'setImmediate', 'performance', 'crypto'].map((name) => ({ name, message: `${PURE_DOMAIN}: no ${name}.` })),
      ],
    },
  },
  {
    files: ['projections/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '^@v2g/(ledger|server)(/|$)', message: 'A projection depends on @v2g/read-model (its contract), never on @v2g/ledger or @v2g/server.' }],
        },
      ],
    },
  },
  {
    files: ['packages/read-model/**', 'packages/event-store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@v2g/(ledger|server|projection-[^/]+)(/|$)',
              message: '@v2g/read-model and @v2g/event-store sit below the ledger, the server and the projections: they import none of them.',
            },
          ],
        },
      ],
    },
  },
  {
    // Resolvers only map: a GraphQL input to a module's service or read-model facade, its result to
    // the output. No SQL, table names, event store or command handler from here (types are fine).
    files: ['packages/server/src/graphql/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@v2g/projection-',
              allowTypeImports: true,
              message: "a resolver asks a module's read-model facade (ctx.ledger.<module>.readModel), not a projection's queries.",
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "MemberExpression[object.name='ledger'][property.name=/^(sql|store|commands)$/], MemberExpression[object.property.name='ledger'][property.name=/^(sql|store|commands)$/]",
          message: 'a resolver goes through a module (ctx.ledger.<module>.service / .readModel), not the SQL client, the event store or the command handler.',
        },
      ],
    },
  },
  {
    // The ledger's capabilities, one folder each with a public index.ts.
    files: ['packages/ledger/src/modules/*/**'],
    rules: { 'v2g/module-imports-via-index': ['error', { root: ROOT, modulesDir: 'packages/ledger/src/modules' }] },
  },
);
