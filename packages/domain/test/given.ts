import { expect } from 'vitest';
import type { Decider } from '../src/decider.ts';

/** given(events).when(command).then(expected) | .thenThrows(ErrorClass, details?) */
export function givenFor<S, C, E>(decider: Decider<S, C, E>) {
  return (history: E[]) => ({
    when: (command: C) => {
      const decide = () => decider.decide(command, history.reduce(decider.evolve, decider.initialState()));
      return {
        then: (expected: E[]) => expect(decide()).toEqual(expected),
        thenThrows: (errorClass: abstract new (...args: never[]) => Error, details?: Record<string, unknown>) => {
          const thrown = thrownBy(decide);
          expect(thrown).toBeInstanceOf(errorClass);
          if (details) expect(thrown).toMatchObject({ details });
        },
      };
    },
  });
}

/** What `fn` throws (undefined when it returns). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
