/**
 * nodejs-order-book's package.json points `types` at `dist/types/index.d.js` (a typo), so
 * TypeScript finds no types for the package name: this re-declares the module with its own
 * declaration files. Used by the matching benchmark only.
 */
declare module 'nodejs-order-book' {
  export * from 'nodejs-order-book/dist/types/index.js';
}
