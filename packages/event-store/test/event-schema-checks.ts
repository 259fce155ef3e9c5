/**
 * What the event-schema specs share: running commands through a decider to get the events it
 * emits, and checking that the registry refuses data, naming the field it refuses.
 */
import type { Decider } from '@v2g/domain';
import { expect } from 'vitest';
import { EventSchemaViolation } from '../src/errors.ts';
import type { SchemaRegistry } from '../src/schema-registry.ts';

/** Runs commands through the decider in order, returning every event it emits. */
export function emitted<S, C, E>(decider: Decider<S, C, E>, commands: readonly C[]): E[] {
  let state = decider.initialState();
  const events: E[] = [];
  for (const command of commands) {
    for (const event of decider.decide(command, state)) {
      events.push(event);
      state = decider.evolve(state, event);
    }
  }
  return events;
}

/** What `registry.validate(type, 1, data)` throws (undefined when it accepts the data). */
function violationOf(registry: SchemaRegistry, type: string, data: unknown): unknown {
  try {
    registry.validate(type, 1, data);
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * Expects the registry to refuse `data` as v1 of `type` with an EventSchemaViolation; with a
 * `field`, one at exactly that field (with `prefix`, at that field or inside it). `what` names the
 * case in a failure.
 */
export function expectRefused(registry: SchemaRegistry, type: string, data: unknown, what: string, field?: string, match: 'exact' | 'prefix' = 'exact'): void {
  const thrown = violationOf(registry, type, data);
  expect(thrown, what).toBeInstanceOf(EventSchemaViolation);
  if (field === undefined) return;
  const refused = (thrown as EventSchemaViolation).field;
  if (match === 'prefix') expect(refused.startsWith(field), `${what}: ${refused}`).toBe(true);
  else expect(refused, what).toBe(field);
}
