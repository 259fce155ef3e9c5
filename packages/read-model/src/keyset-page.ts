import { keysetClauses, type KeysetWindow } from '@v2g/event-store';

/**
 * The WHERE condition and ORDER BY of a keyset window over a list ordered by one key column (see
 * keysetClauses), with the window's cursors pushed onto `params` as placeholders of `type`
 * (`$n::text`, `$n::bigint`). `column` is the key's SQL (a text key in byte order:
 * `t.id COLLATE "C"`); `encode` turns a cursor into its parameter (default: as it is).
 */
export function keysetPage<K>(
  params: unknown[],
  column: string,
  type: 'text' | 'bigint',
  window: KeysetWindow<K> & { descending?: boolean },
  encode: (key: K) => unknown = (key) => key,
): { where: string; orderBy: string } {
  const bound = (key: K | null | undefined) => (key === null || key === undefined ? null : [`$${params.push(encode(key))}::${type}`]);
  return keysetClauses([column], {
    after: bound(window.after),
    before: bound(window.before),
    backward: window.backward ?? false,
    ...(window.descending === undefined ? {} : { descending: window.descending }),
  });
}
