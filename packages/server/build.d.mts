/** Where `pnpm start` and `pnpm ledger` run from. */
export declare const DIST: string;
/** True when dist is missing or older than a source file. */
export declare function isStale(): boolean;
/** Bundles main.js (pnpm start) and ledger.js (pnpm ledger) into `outdir` (default DIST), a folder of packages/server. */
export declare function build(outdir?: string): Promise<void>;
/** Builds when stale; returns the path of an entry point's compiled module. */
export declare function ensureBuilt(entry: 'main' | 'ledger'): Promise<string>;
