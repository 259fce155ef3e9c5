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
          let thrown: unknown;
          try {
            decide();
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(errorClass);
          if (details) expect(thrown).toMatchObject({ details });
        },
      };
    },
  });
}
