import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `pnpm bench <name>` runs scripts/bench/<name>.ts; `pnpm bench` lists what there is. */
const dir = fileURLToPath(new URL('./', import.meta.url));
const names = readdirSync(dir)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts' && !file.endsWith('.spec.ts'))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

const name = process.argv[2];
if (name === undefined) {
  process.stdout.write(`benchmarks (pnpm bench <name>):\n${names.map((n) => `  ${n}`).join('\n')}\n`);
} else if (!names.includes(name)) {
  process.stderr.write(`no benchmark ${JSON.stringify(name)}; there are: ${names.join(', ')}\n`);
  process.exitCode = 2;
} else {
  await import(pathToFileURL(`${dir}${name}.ts`).href);
}
