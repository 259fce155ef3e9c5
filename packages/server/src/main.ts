import { USAGE } from './usage.ts';

/**
 * `pnpm start`: --help prints the usage without loading anything else; otherwise serve.ts starts
 * the server (loaded on demand: it brings in the whole ledger).
 */
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(USAGE);
} else {
  const { serve } = await import('./serve.ts');
  await serve(process.argv.slice(2));
}
