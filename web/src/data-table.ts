// Tables: HTML for a list of rows with a "CSV" button that downloads exactly the API's values
// (money as its decimal text, not as formatted on screen). Rows can link to what is behind them.
import { toCsv } from './csv.js';
import { download, esc } from './dom.js';

export interface Column<T> {
  readonly label: string;
  /** The cell's HTML (escaped by the column). */
  readonly html: (row: T) => string;
  /** The cell in the CSV: the exact value (money as decimal text). Without it the column is left out. */
  readonly csv?: (row: T) => string | number | boolean | null | undefined;
  readonly num?: boolean;
  /** The sort key this header sets (?sort=…), when the page sorts. */
  readonly sort?: string;
  readonly wrap?: boolean;
  /** Only in the CSV (e.g. a name the screen shows inside another cell). */
  readonly hidden?: boolean;
}

export interface TableSpec<T> {
  readonly id: string;
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  /** The CSV file's name (without .csv). */
  readonly csvName: string;
  /** All rows for the CSV when the table shows only a page of them. */
  readonly csvRows?: () => Promise<readonly T[]>;
  /** A link per row: the row's first link goes there, and a click anywhere on the row. */
  readonly rowHref?: (row: T) => string | null;
  /** Attributes on each <tr> (data-…), already escaped by the caller's values. */
  readonly rowAttrs?: (row: T) => Record<string, string>;
  readonly sorted?: { readonly key: string; readonly dir: 'asc' | 'desc' };
  readonly empty?: string;
  readonly caption?: string;
  /**
   * Rows drawn at first; the rest come with the "Show all" button (a browser lays out a table of
   * thousands of rows in seconds). The CSV has every row either way. Default: all.
   */
  readonly shown?: number;
}

/**
 * The first rows a long list draws (TableSpec.shown): four screens. Laying out a row of twenty
 * columns is most of what a fresh browser does after the data has come; 250 rows took twice as long.
 */
export const FIRST_ROWS = 100;

interface Registered {
  readonly name: string;
  readonly header: string[];
  readonly rows: () => Promise<string[][]>;
  /** The HTML of the rows not drawn at first. */
  readonly rest: () => string;
}
const registry = new Map<string, Registered>();

const cell = (v: string | number | boolean | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** The table's HTML; its CSV button works once the HTML is in the page. */
export function table<T>(spec: TableSpec<T>): string {
  const withCsv = spec.columns.filter((c) => c.csv);
  const shown = spec.columns.filter((c) => !c.hidden);
  const first = spec.shown !== undefined && spec.rows.length > spec.shown ? spec.shown : spec.rows.length;
  const rowHtml = (r: T): string => {
    const href = spec.rowHref?.(r) ?? null;
    const attrs = Object.entries(spec.rowAttrs?.(r) ?? {})
      .map(([k, v]) => ` ${k}="${esc(v)}"`)
      .join('');
    const cells = shown.map((c) => `<td class="${[c.num ? 'num' : '', c.wrap ? 'wrap' : ''].join(' ').trim()}">${c.html(r)}</td>`).join('');
    return `<tr${href ? ` class="click" data-href="${esc(href)}"` : ''}${attrs}>${cells}</tr>`;
  };
  registry.set(spec.id, {
    name: spec.csvName,
    header: withCsv.map((c) => c.label),
    rows: async () => (spec.csvRows ? await spec.csvRows() : spec.rows).map((r) => withCsv.map((c) => cell(c.csv!(r)))),
    rest: () => spec.rows.slice(first).map(rowHtml).join(''),
  });
  const head = shown
    .map((c) => {
      const cls = [c.num ? 'num' : '', c.sort ? 'sortable' : '', c.sort && spec.sorted?.key === c.sort ? `sorted ${spec.sorted.dir}` : ''].filter(Boolean).join(' ');
      const label = c.sort ? `<button type="button" class="th-sort" data-sort="${esc(c.sort)}">${esc(c.label)}</button>` : esc(c.label);
      const aria = c.sort && spec.sorted?.key === c.sort ? ` aria-sort="${spec.sorted.dir === 'asc' ? 'ascending' : 'descending'}"` : '';
      return `<th scope="col" class="${cls}"${aria}>${label}</th>`;
    })
    .join('');
  const body = spec.rows.length ? spec.rows.slice(0, first).map(rowHtml).join('') : `<tr><td colspan="${shown.length}" class="muted">${esc(spec.empty ?? 'Nothing here.')}</td></tr>`;
  const more =
    first < spec.rows.length
      ? `<div class="table-more"><span class="muted">${first.toLocaleString('en-US')} of ${spec.rows.length.toLocaleString('en-US')} rows shown (the CSV has all)</span> <button type="button" class="small-button" data-show-all="${esc(spec.id)}">Show all ${spec.rows.length.toLocaleString('en-US')}</button></div>`
      : '';
  return `<div class="table-tools">${spec.caption ? `<span class="muted">${esc(spec.caption)}</span>` : ''}<button type="button" class="small-button" data-csv="${esc(spec.id)}">CSV</button></div>
    <div class="table-wrap"><table id="${esc(spec.id)}" data-rows="${spec.rows.length}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${more}`;
}

/** Draws the rows of table `id` not drawn at first (the click handler of every "Show all" button). */
export function showAllRows(id: string, button: HTMLElement): void {
  const t = registry.get(id);
  const body = document.getElementById(id)?.querySelector('tbody');
  if (!t || !body) return;
  body.insertAdjacentHTML('beforeend', t.rest());
  button.closest('.table-more')?.remove();
}

/** Downloads the CSV of the table `id` (the click handler of every CSV button). */
export async function downloadCsv(id: string): Promise<void> {
  const t = registry.get(id);
  if (!t) return;
  download(`${t.name}.csv`, new Blob([toCsv(t.header, await t.rows())], { type: 'text/csv;charset=utf-8' }));
}

/** Forgets the tables of the previous view. */
export function clearTables(): void {
  registry.clear();
}

/** The CSV text of a table as the button would download it (for tests and the PNG/CSV menu). */
export async function csvText(id: string): Promise<string | null> {
  const t = registry.get(id);
  return t ? toCsv(t.header, await t.rows()) : null;
}
