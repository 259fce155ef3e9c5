import { InvalidCommand } from '../errors.ts';

/**
 * A bidding zone, the one rule for every zone a command names (a site's price zone, a price
 * publication, a market zone, a settlement period): "NL", "DE-LU", "NO1", "IT-NORD", an EIC code
 * such as "10YNL----------L". A zone is part of stream ids (`marketzone-<zone>`), so no '.' or ':'.
 */
export const ZONE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export function checkZone(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ZONE_PATTERN.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} must be 1-32 letters, digits, _ or - (starting with a letter or digit), such as "NL" or "DE-LU"`);
  }
  return value;
}
