import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { exampleOperations } from './example-operations.ts';
import { schema } from './schema/index.ts';

const instants = (document: string, field: string): string[] => [...document.matchAll(new RegExp(`${field}: "([^"]+)"`, 'g'))].map((m) => m[1]!);

describe('the operations GraphiQL opens with', () => {
  it('are valid against the schema', () => {
    expect(validate(schema, parse(exampleOperations(Date.now()))).map((e) => e.message)).toEqual([]);
  });

  it('are dated from the clock they are served at: a departure 8 h ahead, a book open now', () => {
    for (const now of ['2026-12-07T22:58:31.250Z', '2031-06-30T23:59:59.999Z', '2027-01-01T00:00:00.000Z']) {
      const nowMs = Date.parse(now);
      const document = exampleOperations(nowMs);
      const [departure] = instants(document, 'departureAt');
      expect(Date.parse(departure!) - nowMs).toBeGreaterThanOrEqual(8 * 3_600_000);
      expect(Date.parse(departure!) - nowMs).toBeLessThan(8 * 3_600_000 + 60_000);
      const deliveries = instants(document, 'deliveryStart');
      expect(deliveries).toHaveLength(2);
      for (const delivery of deliveries) {
        const deliveryMs = Date.parse(delivery);
        expect(deliveryMs % (15 * 60_000), 'a quarter-hour boundary').toBe(0);
        // Open 24 h before delivery, gate closed 5 minutes before it: open at `now`, for an hour.
        expect(deliveryMs - 24 * 3_600_000).toBeLessThanOrEqual(nowMs);
        expect(deliveryMs - 5 * 60_000 - nowMs).toBeGreaterThanOrEqual(55 * 60_000);
      }
      const [from] = instants(document, 'from');
      const [to] = instants(document, 'to');
      expect(Date.parse(from!)).toBeLessThanOrEqual(Date.parse(deliveries[0]!));
      expect(Date.parse(to!)).toBeGreaterThan(Date.parse(deliveries[0]!));
    }
  });
});
