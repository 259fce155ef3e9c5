import { describe, expect, it } from 'vitest';
import { runCli } from '../run.ts';
import { describeDifference } from './audit.ts';
import { asOfOption } from './replay.ts';

/** `ledger replay` and `ledger audit`: what they refuse before opening any store (exit 2), and how they read --as-of. */

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    // A DATA_DIR that cannot exist: a command that got as far as opening the store would exit 2 naming it.
    env: { DATA_DIR: '/nonexistent/v2g-ledger-test' },
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
  });
  return { code, stdout, stderr };
}

describe('ledger replay and ledger audit (usage)', () => {
  it('are listed, each with its help', async () => {
    const help = await cli('--help');
    expect(help.stdout).toMatch(/\n {2}replay +build a projection as known at an instant or a log position/);
    expect(help.stdout).toMatch(/\n {2}audit +re-derive closed settlement periods/);
    expect((await cli('replay', '--help')).stdout).toMatch(/^Usage: pnpm ledger replay --as-of INSTANT\|POSITION --projection NAME/);
    expect((await cli('audit', '--help')).stdout).toMatch(/^Usage: pnpm ledger audit settlement --zone ZONE --period START/);
  });

  it('refuses bad replay arguments with exit 2, naming what is wrong', async () => {
    const cases: [string[], string][] = [
      [['replay', '--projection', 'billing'], '--as-of is required'],
      [['replay', '--as-of', '2026-11-01T00:00Z'], '--projection is required: one of catalogue, grid, billing, settlement, market'],
      [['replay', '--as-of', '2026-11-01T00:00Z', '--projection', 'invoices'], '--projection "invoices" is none of'],
      [['replay', '--as-of', 'yesterday', '--projection', 'billing'], 'neither a UTC instant'],
      [['replay', '--as-of', '12', '--through', '10', '--projection', 'billing'], '--through caps an instant'],
      [['replay', '--as-of', '12', '--projection', 'billing', '--zone', 'NL', '--period', '2026-11-05T10:00Z'], '--zone, --period and --revision go with --projection settlement'],
      [['replay', '--as-of', '12', '--projection', 'settlement', '--zone', 'NL'], '--zone and --period go together'],
      [['replay', '--as-of', '12', '--projection', 'settlement', '--zone', 'NL', '--period', '2026-11-05T10:05Z'], 'not on a quarter hour'],
      [['replay', '--as-of', '12', '--projection', 'settlement', '--account', 'a'], '--account and --month go with --projection billing'],
      [['replay', '--as-of', '12', '--projection', 'billing', '--account', 'a', '--month', '2026-13'], 'not a month'],
      [['replay', '--as-of', '12', '--projection', 'billing', '--query', 'SELECT * FROM {statements}'], '{statements} is not a table of billing'],
      [['replay', '--as-of', '12', '--projection', 'billing', '--schema', 'Bad-Name'], 'not a plain lower-case SQL name'],
      [['replay', '--as-of', '12', '--projection', 'billing', '--jsn'], "Unknown option '--jsn'"],
      [['replay', '--as-of', '12', '--projection', 'billing'], 'configuration error: DATA_DIR'],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(...argv);
      expect(result, argv.join(' ')).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr, argv.join(' ')).toContain(message);
    }
  });

  it('refuses bad audit arguments with exit 2', async () => {
    const cases: [string[], string][] = [
      [['audit'], 'expected 1 argument(s), got 0'],
      [['audit', 'invoices', '--all'], 'the only audit is "settlement"'],
      [['audit', 'settlement'], '--zone and --period name the period to audit (or --all for every one)'],
      [['audit', 'settlement', '--zone', 'NL'], '--zone and --period'],
      [['audit', 'settlement', '--all', '--period', '2026-11-05T10:00Z'], 'no --period or --revision with it'],
      [['audit', 'settlement', '--zone', 'NL', '--period', '2026-11-05T10:07Z'], 'not on a quarter hour'],
      [['audit', 'settlement', '--zone', 'NL', '--period', '2026-11-05T10:00Z', '--revision', '0'], '--revision must be a whole number from 1'],
      [['audit', 'settlement', '--all'], 'configuration error: DATA_DIR'],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(...argv);
      expect(result, argv.join(' ')).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr, argv.join(' ')).toContain(message);
    }
  });

  it('reads --as-of as a position or an instant, and --through as a cap on an instant', () => {
    expect(asOfOption('120000', undefined)).toEqual({ position: 120000n });
    expect(asOfOption('2026-11-01T00:00Z', undefined)).toEqual({ instant: '2026-11-01T00:00:00.000Z' });
    expect(asOfOption('2026-11-01T00:00:05.5Z', '77')).toEqual({ instant: '2026-11-01T00:00:05.500Z', position: 77n });
  });

  it('says what a difference is about, recorded against re-derived', () => {
    expect(describeDifference({ path: 'lines[1].imbalanceAmountMinor', subject: 'seller-1', recorded: '-11', derived: '-10' })).toBe(
      'lines[1].imbalanceAmountMinor (seller-1): recorded "-11", re-derived "-10"',
    );
    expect(describeDifference({ path: 'transfers[9]', subject: null, recorded: null, derived: { amount: '4' } })).toBe('transfers[9]: recorded null, re-derived {"amount":"4"}');
  });
});
