import type { Dialect } from '../engine/dialect.js';

/**
 * Rules every text value of every source file follows, whatever its column
 * (docs/data-contract.md#values-are-data): no control characters, and ids compared in one
 * normal form.
 */

/**
 * Control characters a value may not hold: C0 (U+0000–U+001F) except tab, line feed and carriage
 * return, DEL (U+007F) and C1 (U+0080–U+009F). A NUL byte cuts text short in many tools.
 */
const CONTROL = '[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]';

export const CONTROL_EXPECTED = 'text without control characters (U+0000–U+001F other than tab and line breaks, U+007F–U+009F)';

/** Any character but a control character. */
const NOT_CONTROL = '[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]';

/**
 * True when the text holds a control character: it is not made wholly of other characters (a
 * pattern anchored at both ends runs in about half the time of a search for one anywhere).
 */
export function sqlHasControl(d: Dialect, textExpr: string): string {
  return `NOT ${d.sqlRegexpMatches(textExpr, `${NOT_CONTROL}*`)}`;
}

/** Which control character the text holds first, as 'found U+0000'. */
export function sqlControlDetail(d: Dialect, textExpr: string): string {
  return `'found ' || format('U+{:04X}', ord(regexp_extract(${textExpr}, ${d.quoteString(CONTROL)})))`;
}

/** Invisible characters removed from ids wherever they are: zero-width space, joiners, word joiner, BOM. */
const ZERO_WIDTH = '[\\x{200B}-\\x{200D}\\x{2060}\\x{FEFF}]';
/** Unicode white space (incl. no-break spaces) removed around ids. */
const SPACE = '[\\s\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]';

/**
 * An id in its normal form, the form it is compared in: NFC, zero-width characters removed,
 * Unicode white space around it removed. NULL stays NULL.
 */
export function sqlNormalId(d: Dialect, textExpr: string): string {
  const noZeroWidth = `regexp_replace(nfc_normalize(${textExpr}), ${d.quoteString(ZERO_WIDTH)}, '', 'g')`;
  return `regexp_replace(${noZeroWidth}, ${d.quoteString(`^${SPACE}+|${SPACE}+$`)}, '', 'g')`;
}

/** Names a file's column may not have: the engine's own columns start with `__`. */
export function isReservedColumn(name: string): boolean {
  return name.trim().startsWith('__');
}

/** Columns that hold ids, in every file that has them: read in their normal form (sqlNormalId). */
export const ID_COLUMNS: ReadonlySet<string> = new Set(['account_id', 'line_id']);

/** The raw table's column that keeps an id's own spelling when it differs from its normal form (NULL when not). */
export function spelledColumn(idColumn: string): string {
  return `__spelled_${idColumn}`;
}

/** A file's raw table and its id columns, for sqlNearDuplicateIds. */
export interface IdSource {
  readonly source: string;
  readonly file: string;
  readonly columns: readonly string[];
}

/** An id column's value as it was written, for messages: its own spelling, not its normal form. */
export function sqlIdAsWritten(d: Dialect, column: string, alias?: string): string {
  const at = (c: string): string => (alias === undefined ? d.quoteIdent(c) : `${alias}.${d.quoteIdent(c)}`);
  return `coalesce(${at(spelledColumn(column))}, ${at(column)})`;
}

/**
 * True when a row spells one of its ids otherwise than its normal form, beyond blanks around it
 * (the rows sqlNearDuplicateIds looks at): checked in the pass that parses the file, so that the
 * near-duplicate warning reads again only the rows it flagged.
 */
export function sqlOddId(d: Dialect, columns: readonly string[]): string {
  if (columns.length === 0) return 'FALSE';
  return columns
    .map((c) => `coalesce(trim(${d.quoteIdent(spelledColumn(c))}) <> ${d.quoteIdent(c)}, FALSE)`)
    .join(' OR ');
}

/**
 * Warnings in `validation_issues` for ids spelled in two ways that are one id once normalised
 * (a trailing tab, a zero-width space, a no-break space): the row with the unusual spelling names
 * it (value) and the id it is read as. Two statements: the first keeps the rows whose spelling
 * differs from their id in `odd_ids`, the second, run only when it is not empty, looks for the same
 * ids spelled otherwise and writes the warnings. The pass that parses each file flags such rows
 * (sqlOddId): `flagged` gives, per source, a query of the row numbers it flagged; only those rows
 * are read again, and only of the sources that have any (`odd` is null when none has).
 */
export function sqlNearDuplicateIds(
  d: Dialect,
  sources: readonly IdSource[],
  flagged: ReadonlyMap<string, string>,
): { odd: string | null; warnings: string } | null {
  const part = (s: IdSource, c: string, onlySpelled: boolean): string =>
    `SELECT ${d.quoteString(s.source)} AS source, ${d.quoteString(s.file)} AS file, __row AS row, ${d.quoteString(c)} AS col, ${d.quoteIdent(c)} AS id, ${d.quoteIdent(spelledColumn(c))} AS spelled FROM raw_${s.source} WHERE ${d.quoteIdent(onlySpelled ? spelledColumn(c) : c)} IS NOT NULL${onlySpelled ? ` AND __row IN (${flagged.get(s.source)})` : ''}`;
  const parts = (onlySpelled: boolean): string[] =>
    sources.filter((s) => !onlySpelled || flagged.has(s.source)).flatMap((s) => s.columns.map((c) => part(s, c, onlySpelled)));
  if (parts(false).length === 0) return null;
  const odd = parts(true);
  return {
    odd: odd.length === 0 ? null : `CREATE OR REPLACE TEMP TABLE odd_ids AS SELECT * FROM (${odd.join('\nUNION ALL\n')}) WHERE trim(spelled) <> id`,
    warnings: `INSERT INTO validation_issues
    WITH ids AS (${parts(false).join('\nUNION ALL\n')}),
    twice AS (SELECT col, id FROM ids WHERE id IN (SELECT id FROM odd_ids) GROUP BY col, id HAVING count(DISTINCT coalesce(trim(spelled), id)) > 1)
    SELECT o.source, o.file, o.row, o.col, o.spelled,
      'one spelling of each id: read as ''' || o.id || ''', which is also spelled differently (ids are compared without surrounding white space and zero-width characters)',
      'warning'
    FROM odd_ids o JOIN twice t ON t.col = o.col AND t.id = o.id`,
  };
}
