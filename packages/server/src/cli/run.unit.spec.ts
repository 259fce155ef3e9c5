import { describe, expect, it } from 'vitest';
import type { CliIo } from './command.ts';
import { COMMANDS, runCli, type CommandEntry } from './run.ts';

const io = (): { out: { stdout: string; stderr: string }; io: CliIo } => {
  const out = { stdout: '', stderr: '' };
  return { out, io: { env: {}, stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
};

describe('ledger commands', () => {
  it('lists each command under the name its module answers to', async () => {
    for (const entry of COMMANDS) expect((await entry.load()).name).toBe(entry.name);
  });

  it('prints the command list without loading any command', async () => {
    const untouchable: CommandEntry[] = COMMANDS.map((entry) => ({ ...entry, load: () => Promise.reject(new Error(`${entry.name} loaded`)) }));
    const { out, io: cli } = io();
    expect(await runCli(['--help'], cli, untouchable)).toBe(0);
    for (const entry of COMMANDS) expect(out.stdout).toContain(`  ${entry.name}`);
    expect(out.stderr).toBe('');
  });
});
