/**
 * Keyset pages over a read model's list, for Relay connections: the rows strictly between two
 * cursors (`after`, `before`) of a list in its order, read from its start (forward: the rows
 * nearest `after` first) or from its end (backward: the rows nearest `before` first). A query asks
 * for one row more than the page, so that the reader knows whether there are more.
 */
export type KeysetWindow<K> = {
  /** Only rows after this key, in the list's order. */
  after?: K | null;
  /** Only rows before this key, in the list's order. */
  before?: K | null;
  /** Read from the end of the window: rows come nearest `before` first (the list's order reversed). */
  backward?: boolean;
};

/**
 * The WHERE condition and ORDER BY of a window over the key `columns` (one column, or several
 * compared as a row), for a list ordered ascending by them or, with `descending`, descending.
 * `after` and `before` are the SQL placeholders of the cursor's key (e.g. ["$4::bigint"]), or
 * null when that bound is not given.
 */
export function keysetClauses(
  columns: readonly string[],
  window: { after: readonly string[] | null; before: readonly string[] | null; backward: boolean; descending?: boolean },
): { where: string; orderBy: string } {
  const row = (items: readonly string[]) => `(${items.join(', ')})`;
  const descending = window.descending ?? false;
  const conditions: string[] = [];
  if (window.after !== null) conditions.push(`${row(columns)} ${descending ? '<' : '>'} ${row(window.after)}`);
  if (window.before !== null) conditions.push(`${row(columns)} ${descending ? '>' : '<'} ${row(window.before)}`);
  const direction = descending !== window.backward ? 'DESC' : 'ASC';
  return { where: conditions.length === 0 ? 'TRUE' : conditions.join(' AND '), orderBy: columns.map((c) => `${c} ${direction}`).join(', ') };
}
