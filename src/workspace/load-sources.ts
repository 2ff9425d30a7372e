import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { SOURCES, type ContractForm, type SourceName } from '../contract/data-contract.js';
import { SIGNAL_SOURCES, type SignalColumnType, type SignalSourceName } from '../contract/signal-contract.js';
import { signalNativeColumn, type SignalNative } from '../contract/signal-validation-sql.js';
import type { SourceFile } from '../contract/source-files.js';
import type { Driver } from '../drivers/driver.js';
import type { ColumnKind } from '../engine/dialect.js';
import { NrrError } from '../errors.js';
import { checkRegularFile } from '../input-file.js';
import { jsonNumberLiterals, type JsonLiteral } from './json-literals.js';
import { ID_COLUMNS, isReservedColumn, spelledColumn, sqlNormalId, type IdSource } from '../contract/value-rules-sql.js';

export interface LoadedSource<Name extends string = SourceName> {
  readonly source: Name;
  readonly file: string | undefined;
  readonly columns: readonly string[];
  /** Columns outside the contract: attributes for accounts, ignored (with a warning) elsewhere. */
  readonly extraColumns: readonly string[];
  /**
   * Contract columns `raw_<source>` holds in their own type (dates and money from Parquet, and the
   * counts, scores and booleans of signal files); the rest are text.
   */
  readonly native: Readonly<Record<string, SignalNative>>;
  /** A view reads the file where it lies (Parquet); a table holds a text copy (CSV, JSON, no file). */
  readonly relation: 'view' | 'table';
  /** For a view: the file's path, size and modification time when it was opened (see checkUnchanged). */
  readonly stamp?: FileStamp;
  /** A table's rows: `raw_<source>` has `__key`, the row named by its key columns. */
  readonly keyed?: boolean;
}

interface FileStamp {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

function stampOf(path: string): FileStamp {
  const st = statSync(path);
  return { path, size: st.size, mtimeMs: st.mtimeMs };
}

/**
 * A file read through a view is read more than once (its row count, the parse, the rejects). If it
 * was rewritten in between, the rows could come from two versions: refuse rather than mix them.
 */
export function checkUnchanged(sources: readonly LoadedSource<string>[]): void {
  for (const s of sources) {
    if (s.stamp === undefined) continue;
    let now: FileStamp | null;
    try {
      now = stampOf(s.stamp.path);
    } catch {
      now = null;
    }
    if (now === null || now.size !== s.stamp.size || now.mtimeMs !== s.stamp.mtimeMs) {
      throw new NrrError(`${s.file}: the file changed while it was being read, so its rows could come from two versions; nothing was computed. Run again once it is completely written.`);
    }
  }
}

/** What loading needs to know of a file of the contract. */
export interface LoadSpec<Name extends string> {
  readonly name: Name;
  readonly columns: readonly { readonly name: string; readonly required: boolean; readonly kind?: ColumnKind; readonly type?: SignalColumnType }[];
  readonly extraColumnsAreAttributes: boolean;
  readonly forms?: readonly ContractForm[];
}

/**
 * Makes `raw_<source>` of each source file: every value as text plus `__row`, the row's place in its
 * file (1 = first data row). Parquet is read where it lies, through a view, and its typed dates and
 * money keep their type; CSV and JSON are copied into a table. Absent optional files become empty
 * tables with the contract's columns.
 */
export async function loadRawSources(
  driver: Driver,
  files: Partial<Record<SourceName, SourceFile>>,
): Promise<Record<SourceName, LoadedSource>> {
  const out = {} as Record<SourceName, LoadedSource>;
  for (const spec of Object.values(SOURCES)) {
    out[spec.name] = await loadRaw(driver, { ...spec, columns: [...spec.columns, ...(spec.alternatives ?? [])] }, files[spec.name]);
  }
  return out;
}

/** The same for the signal files; extra columns are ignored (with a warning). */
export async function loadRawSignalSources(
  driver: Driver,
  files: Partial<Record<SignalSourceName, SourceFile<SignalSourceName>>>,
): Promise<Record<SignalSourceName, LoadedSource<SignalSourceName>>> {
  const out = {} as Record<SignalSourceName, LoadedSource<SignalSourceName>>;
  for (const spec of Object.values(SIGNAL_SOURCES)) {
    out[spec.name] = await loadRaw(driver, { ...spec, extraColumnsAreAttributes: false }, files[spec.name]);
  }
  return out;
}

export async function loadRaw<Name extends string>(
  driver: Driver,
  spec: LoadSpec<Name>,
  f: SourceFile<Name> | undefined,
): Promise<LoadedSource<Name>> {
  const d = driver.dialect;
  const contract = spec.columns.map((c) => c.name);
  if (!f) {
    const ids = contract.filter((c) => ID_COLUMNS.has(c)).map((c) => `NULL::VARCHAR AS ${d.quoteIdent(spelledColumn(c))}`);
    const cols = [...contract.map((c) => `NULL::VARCHAR AS ${d.quoteIdent(c)}`), ...ids].join(', ');
    await driver.exec(`CREATE OR REPLACE TABLE raw_${spec.name} AS SELECT ${cols}, NULL::BIGINT AS __row WHERE FALSE`);
    return { source: spec.name, file: undefined, columns: contract, extraColumns: [], native: {}, relation: 'table' };
  }
  checkRegularFile(f.path, f.file);
  // Before anything is read of a file that will be read through a view.
  let stamp: FileStamp | undefined;
  try {
    stamp = f.format === 'parquet' ? stampOf(f.path) : undefined;
  } catch {
    stamp = undefined; // not readable: reading it below says so
  }
  let columns: string[];
  let delimiter = ',';
  let types = new Map<string, string>();
  if (f.format === 'csv') {
    ({ columns, delimiter } = csvHeader(f.file, f.path));
  } else {
    try {
      const described = await driver.query(d.sqlDescribe(f.path, f.format));
      columns = described.map((r) => String(r['column_name']));
      types = new Map(described.map((r) => [String(r['column_name']), String(r['column_type'])]));
    } catch (e) {
      throw new NrrError(readFailure(f, delimiter, e));
    }
  }
  const relation = f.format === 'parquet' ? 'view' : 'table';
  const read = (nativeActual: ReadonlySet<string>): string =>
    f.format === 'parquet' ? d.sqlReadParquet(f.path, nativeActual) : d.sqlReadAsText(f.path, f.format, columns, delimiter);
  const made = await makeRaw(driver, spec, {
    label: f.file,
    columns,
    types: f.format === 'parquet' ? types : null,
    read,
    relation,
    keyed: false,
    failure: (e) => readFailure(f, delimiter, e),
    jsonPath: f.format === 'json' ? f.path : null,
  });
  return { ...made, ...(stamp ? { stamp } : {}) };
}

/** Where the rows of a source come from, for makeRaw. */
export interface RawInput {
  /** The file or table as messages name it. */
  readonly label: string;
  /** Its columns, as it names them. */
  readonly columns: readonly string[];
  /** The column types of a typed file (Parquet): contract dates and money of such a type keep it; null to read all as text. */
  readonly types: ReadonlyMap<string, string> | null;
  /** A query of every column, `__row` (and `__key` when keyed), given the columns to keep in their own type. */
  readonly read: (nativeActual: ReadonlySet<string>) => string;
  readonly relation: 'view' | 'table';
  /** The query also gives `__key`, the row named by its key columns (a table's rows have no line numbers). */
  readonly keyed: boolean;
  /** What a failure of the engine to read it means, in the terms of the input. */
  readonly failure: (e: unknown) => string;
  /** A JSON file whose number literals are put back (restoreJsonLiterals). */
  readonly jsonPath: string | null;
}

/**
 * Makes `raw_<source>` from the rows of a file or a table: the contract's columns (ids in their
 * normal form, their own spelling beside them), the extra columns when they are attributes, `__row`
 * (and `__key`). Checks the columns first: reserved names, repeats, required columns, forms.
 */
export async function makeRaw<Name extends string>(driver: Driver, spec: LoadSpec<Name>, input: RawInput): Promise<LoadedSource<Name>> {
  const d = driver.dialect;
  const contract = spec.columns.map((c) => c.name);
  const { label, columns, types, relation } = input;
  const reserved = columns.filter(isReservedColumn);
  if (reserved.length > 0) {
    throw new NrrError(
      `${label}: column ${reserved.map((c) => `'${c}'`).join(', ')}: names starting with '__' are reserved for the engine's own columns (such as the row number); rename the column`,
    );
  }
  const dupes = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (dupes.length > 0) throw new NrrError(`${label}: the header repeats column ${dupes.map((c) => `'${c}'`).join(', ')}`);
  const lower = new Map(columns.map((c) => [c.trim().toLowerCase(), c]));
  const missing = spec.columns.filter((c) => c.required && !lower.has(c.name));
  if (missing.length > 0) {
    throw new NrrError(
      `${label}: missing required column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c.name}'`).join(', ')} (found: ${columns.join(', ')}); see docs/data-contract.md`,
    );
  }
  checkForms(label, spec.forms ?? [], lower, columns);
  const contractSet = new Set(contract);
  const extra = columns.filter((c) => !contractSet.has(c.trim().toLowerCase()));
  const selectContract = contract.flatMap((c) => {
    const actual = lower.get(c);
    const spelled = d.quoteIdent(spelledColumn(c));
    if (!actual) return [`NULL::VARCHAR AS ${d.quoteIdent(c)}`, ...(ID_COLUMNS.has(c) ? [`NULL::VARCHAR AS ${spelled}`] : [])];
    if (!ID_COLUMNS.has(c)) return [`${d.quoteIdent(actual)} AS ${d.quoteIdent(c)}`];
    // An id is held in its normal form; its own spelling, when it differs, is kept beside it for
    // messages and for the near-duplicate warning (sqlNearDuplicateIds).
    const raw = d.quoteIdent(actual);
    const normal = `CASE WHEN ${d.sqlIsPlainAscii(raw)} THEN ${raw} ELSE ${sqlNormalId(d, raw)} END`;
    return [`${normal} AS ${d.quoteIdent(c)}`, `CASE WHEN ${raw} <> ${normal} THEN ${raw} END AS ${spelled}`];
  });
  const selectExtra = spec.extraColumnsAreAttributes ? extra.map((c) => d.quoteIdent(c)) : [];
  // Typed values in a Parquet file (dates, money, counts, booleans…) are taken as they are: nothing to parse.
  const native: Record<string, SignalNative> = {};
  const nativeActual = new Set<string>();
  if (types !== null) {
    for (const c of spec.columns) {
      const actual = lower.get(c.name);
      const type = actual === undefined ? undefined : types.get(actual);
      if (actual === undefined || type === undefined) continue;
      const n =
        c.type !== undefined ? signalNativeColumn(d, type, c.type) : c.kind === undefined || c.kind === 'text' ? null : d.nativeColumn(type, c.kind);
      if (n) {
        native[c.name] = n;
        nativeActual.add(actual);
      }
    }
  }
  const read = input.read(nativeActual);
  try {
    await driver.exec(
      `CREATE OR REPLACE ${relation === 'view' ? 'VIEW' : 'TABLE'} raw_${spec.name} AS SELECT ${[...selectContract, ...selectExtra, '__row', ...(input.keyed ? ['__key'] : [])].join(', ')} FROM (${read})`,
    );
    // A view reads nothing yet: count its rows so that a file that cannot be read fails here.
    if (relation === 'view') await driver.query(`SELECT count(*) AS n FROM raw_${spec.name}`);
    if (input.jsonPath !== null) {
      const rawColumn = (key: string): string | undefined => {
        const c = key.trim().toLowerCase();
        return contractSet.has(c) && lower.get(c) === key ? c : spec.extraColumnsAreAttributes && extra.includes(key) ? key : undefined;
      };
      await restoreJsonLiterals(driver, `raw_${spec.name}`, input.jsonPath, rawColumn);
    }
  } catch (e) {
    throw new NrrError(input.failure(e));
  }
  return { source: spec.name, file: label, columns, extraColumns: extra, native, relation, keyed: input.keyed };
}

/**
 * A file gives a value in exactly one of its forms (subscriptions: amount with interval, or mrr):
 * columns of two forms are refused, naming them, rather than one of them being silently ignored.
 */
function checkForms(file: string, forms: readonly ContractForm[], lower: ReadonlyMap<string, string>, columns: readonly string[]): void {
  if (forms.length === 0) return;
  const used = forms.filter((form) => form.columns.some((c) => lower.has(c)));
  const quoted = (cs: readonly string[]): string => cs.map((c) => `'${c}'`).join(', ');
  if (used.length > 1) {
    const given = used.flatMap((form) => form.columns.filter((c) => lower.has(c)));
    throw new NrrError(
      `${file}: columns ${quoted(given)} give the same value in two forms (${used.map((form) => form.label).join('; ')}); keep the columns of one form only; see docs/data-contract.md`,
    );
  }
  const form = used[0];
  const first = form?.columns[0];
  if (form === undefined || (first !== undefined && !lower.has(first))) {
    const needed = form === undefined ? forms.map((x) => `'${x.columns[0]}'`).join(' or ') : `'${first}'`;
    throw new NrrError(`${file}: missing required column ${needed} (found: ${columns.join(', ')}); see docs/data-contract.md`);
  }
}

/**
 * The data row of the engine's CSV "line": it counts records from the header (1), blank lines
 * included, while data rows (as `__row` numbers them) skip blank lines. Only read for an error.
 */
function dataRowOfLine(path: string, line: number): number {
  let record = 1;
  let blanks = 0;
  let quoted = false;
  let empty = true;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let at = 0;
    for (let n = readSync(fd, buf, 0, buf.length, at); n > 0 && record < line; n = readSync(fd, buf, 0, buf.length, at)) {
      at += n;
      for (let i = 0; i < n && record < line; i++) {
        const c = buf[i];
        if (c === 0x22) quoted = !quoted; // "" inside a quoted value toggles twice
        if (c === 0x0a && !quoted) {
          if (empty && record > 1) blanks++;
          record++;
          empty = true;
        } else if (c !== 0x0d) {
          empty = false;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return line - 1 - blanks;
}

/** Removes `raw_<source>` once the typed tables exist. */
export function sqlDropRaw(s: LoadedSource<string>): string {
  return `DROP ${s.relation === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS raw_${s.source}`;
}

/** Field separators a CSV export may use, in order of preference when the header splits equally. */
const DELIMITERS = [',', ';', '\t', '|'] as const;

const delimiterName = (delimiter: string): string => (delimiter === '\t' ? 'tabs' : `'${delimiter}'`);

/**
 * The header row of a CSV file: its column names, and the separator between them. Exports from
 * spreadsheets in many locales separate fields with ';', and some with tabs: the separator that
 * splits the header into the most columns is the file's (a comma when none splits it).
 */
function csvHeader(file: string, path: string): { columns: string[]; delimiter: string } {
  let text: string;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    text = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '');
    const end = text.search(/\r?\n/);
    if (end < 0 && n === buf.length) throw new NrrError(`${file}: cannot be read as CSV: no end to the header row in the first 64 KB`);
    if (end >= 0) text = text.slice(0, end);
  } finally {
    closeSync(fd);
  }
  let best: { columns: string[]; delimiter: string } | null = null;
  for (const delimiter of DELIMITERS) {
    let rows: string[][];
    try {
      rows = parse(text, { relax_column_count: true, delimiter }) as string[][];
    } catch {
      continue; // not this separator (a quote out of place for it)
    }
    const header = rows[0] ?? [];
    if (best === null || header.length > best.columns.length) best = { columns: header.map((h) => h.trim()), delimiter };
  }
  if (best === null) {
    throw new NrrError(`${file}: the header row cannot be read as CSV: expected column names separated by commas, a name with a comma or a quote in double quotes`);
  }
  if (best.columns.every((h) => h === '')) throw new NrrError(`${file}: cannot be read as CSV: the file is empty: expected a header row`);
  return best;
}

/**
 * What the engine's error on reading a file means, in the terms of the file: its data rows
 * (1 = the first row after the header) and what was expected. The engine's own text is not shown.
 */
function readFailure(f: SourceFile<string>, delimiter: string, e: unknown): string {
  const { file, format } = f;
  const msg = e instanceof Error ? e.message : String(e);
  if (format === 'parquet') {
    return `${file}: cannot be read as Parquet: the file is not a Parquet file, or is damaged or incomplete (write it again)`;
  }
  if (format === 'json') {
    const reason = /Malformed JSON[^:]*: ([^.\n]+)/.exec(msg)?.[1];
    return `${file}: cannot be read as JSON${reason ? ` (${reason})` : ''}: expected an array of objects, or one object per line, with the contract's columns as keys`;
  }
  const line = /CSV Error on Line: (\d+)/.exec(msg)?.[1];
  const cannot = `${file}: cannot be read as CSV: `;
  const row = line === undefined ? 'a row' : `data row ${dataRowOfLine(f.path, Number(line))}`;
  const sep = `separated by ${delimiterName(delimiter)} as in the header`;
  const fields = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(msg);
  if (fields) {
    const [, expected, found] = fields;
    const more = Number(found) > Number(expected);
    return `${cannot}${row} has ${found} field${found === '1' ? '' : 's'} where the header has ${expected}: expected one value per column, ${sep}${more ? ', and a value that holds the separator in double quotes' : ''}`;
  }
  if (/unterminated quote/i.test(msg)) {
    return `${cannot}${row} has a quoted value that is not closed: expected a value that starts with " to end with " (a " inside it written as "")`;
  }
  if (/not utf-8|invalid unicode/i.test(msg)) return `${cannot}${row} is not UTF-8 text: expected the file saved as UTF-8`;
  return `${cannot}${line === undefined ? 'the file' : row} does not parse: expected values ${sep}, a value holding the separator, a quote or a line break in double quotes`;
}

/** The id columns each loaded file holds, for the near-duplicate warning (sqlNearDuplicateIds). */
export function idSources(sources: readonly LoadedSource<string>[]): IdSource[] {
  return sources.flatMap((s) => {
    if (s.file === undefined) return [];
    const given = new Set(s.columns.map((c) => c.trim().toLowerCase()));
    const columns = [...ID_COLUMNS].filter((c) => given.has(c));
    return columns.length === 0 ? [] : [{ source: s.source, file: s.file, columns }];
  });
}

/**
 * Puts back the literal text of the JSON numbers the engine read through a double, so that an amount
 * keeps every digit it was written with (or is refused for its places or its exponent, as in CSV).
 */
async function restoreJsonLiterals(driver: Driver, table: string, path: string, columnOf: (key: string) => string | undefined): Promise<void> {
  const d = driver.dialect;
  const byColumn = new Map<string, JsonLiteral[]>();
  for (const l of jsonNumberLiterals(readFileSync(path, 'utf8'))) {
    const c = columnOf(l.key);
    if (c !== undefined) byColumn.set(c, [...(byColumn.get(c) ?? []), l]);
  }
  for (const [c, list] of byColumn) {
    const values = list.map((l) => `(${l.row}, ${d.quoteString(l.literal)})`).join(', ');
    await driver.exec(`UPDATE ${table} SET ${d.quoteIdent(c)} = v.literal FROM (VALUES ${values}) v(r, literal) WHERE __row = v.r`);
  }
}
