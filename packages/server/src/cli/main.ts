import { runCli } from './run.ts';

/**
 * `pnpm ledger <command>`: operators' and auditors' tools (see run.ts for the commands). The exit
 * code is set rather than forced, so that stdout is flushed first; every command closes what it opened.
 */
process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
