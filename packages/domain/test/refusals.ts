import fc from 'fast-check';
import { expect } from 'vitest';
import { DomainError } from '../src/errors.ts';

type ErrorClass = abstract new (...args: never[]) => DomainError;

/**
 * Decides random commands on states picked by `which` (through `stateAt`, which may hand out a
 * fresh copy each time), and expects every DomainError the decider throws to be one that
 * `refusals` lists for the command's type. Returns, per command type, the names of the refusals met,
 * so the caller can check the generators reach them. A fixed seed: the coverage checks must not
 * depend on luck.
 */
export function refusalsMet<S, C extends { type: string }>(check: {
  decide: (command: C, state: S) => unknown;
  stateAt: (which: number) => S;
  which: fc.Arbitrary<number>;
  command: fc.Arbitrary<C>;
  refusals: Readonly<Record<string, readonly ErrorClass[]>>;
  numRuns: number;
  seed: number;
}): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  fc.assert(
    fc.property(check.which, check.command, (which, c) => {
      const state = check.stateAt(which);
      try {
        check.decide(c, state);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        const listed = check.refusals[c.type]!;
        expect(
          listed.some((refusal) => error instanceof refusal),
          `${c.type} refused with ${error.constructor.name} (${error.message})`,
        ).toBe(true);
        if (!seen.has(c.type)) seen.set(c.type, new Set());
        seen.get(c.type)!.add(error.constructor.name);
      }
    }),
    { numRuns: check.numRuns, seed: check.seed },
  );
  return seen;
}

/** Expects every refusal listed for every command type to have been met. */
export function expectEveryRefusalMet(seen: Map<string, Set<string>>, refusals: Readonly<Record<string, readonly ErrorClass[]>>): void {
  for (const type of Object.keys(refusals)) {
    expect([...(seen.get(type) ?? [])].sort(), type).toEqual(refusals[type]!.map((c) => c.name).sort());
  }
}
