import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';
import { Money, stringifyJson } from '../money.js';
import { formatMoney } from '../report/format.js';
import { spreadsheetSafe } from '../spreadsheet-cell.js';

export const ROW_FORMATS = ['table', 'csv', 'json', 'md'] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

type Cell = string | number | boolean | null | undefined | Money;

/** A cell for people: money to cents, ratios to four places. */
function human(v: Cell): string {
  if (v instanceof Money) return formatMoney(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4);
  return v === null || v === undefined ? '' : String(v);
}

/** A cell for machines: every digit. */
function exact(v: Cell): string {
  if (v instanceof Money) return v.value;
  return v === null || v === undefined ? '' : String(v);
}

export { spreadsheetSafe } from '../spreadsheet-cell.js';

/** A CSV cell: every digit of numbers and money; text neutralised for spreadsheets. */
function csvCell(v: Cell): string {
  return typeof v === 'string' ? spreadsheetSafe(v) : exact(v);
}

/**
 * Rows in the format asked for. Table and Markdown round money to cents for reading; CSV and JSON
 * keep every digit the engine computed. CSV text cells (and headers) that a spreadsheet would read
 * as a formula are neutralised (`spreadsheetSafe`); JSON gives every text exactly.
 */
export function formatRows(rows: readonly Record<string, Cell>[], columns: readonly string[], format: RowFormat): string {
  switch (format) {
    case 'json':
      return stringifyJson(rows) + '\n';
    case 'csv':
      return stringify(rows.map((r) => columns.map((c) => csvCell(r[c]))), { header: true, columns: columns.map(spreadsheetSafe) });
    case 'md': {
      const lines = [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`];
      for (const r of rows) lines.push(`| ${columns.map((c) => human(r[c]).replaceAll('|', '\\|')).join(' | ')} |`);
      return lines.join('\n') + '\n';
    }
    case 'table': {
      const t = new Table({
        head: [...columns],
        style: { head: [], border: [], compact: true },
        colAligns: columns.map((c) => (rows.some((r) => r[c] instanceof Money || typeof r[c] === 'number') ? 'right' : 'left')),
      });
      for (const r of rows) t.push(columns.map((c) => human(r[c])));
      return t.toString() + '\n';
    }
  }
}
