import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { SOURCES, type ContractForm, type SourceName } from '../contract/data-contract.js';
import { SIGNAL_SOURCES, type SignalSourceName } from '../contract/signal-contract.js';
import type { SourceFile } from '../contract/source-files.js';
import type { Driver } from '../drivers/driver.js';
import type { ColumnKind, NativeColumn } from '../engine/dialect.js';
import { NrrError } from '../errors.js';

export interface LoadedSource<Name extends string = SourceName> {
  readonly source: Name;
  readonly file: string | undefined;
  readonly columns: readonly string[];
  /** Columns outside the contract: attributes for accounts, ignored (with a warning) elsewhere. */
  readonly extraColumns: readonly string[];
  /** Contract columns `raw_<source>` holds in their own type (dates and money from Parquet); the rest are text. */
  readonly native: Readonly<Record<string, NativeColumn>>;
  /** A view reads the file where it lies (Parquet); a table holds a text copy (CSV, JSON, no file). */
  readonly relation: 'view' | 'table';
  /** For a view: the file's path, size and modification time when it was opened (see checkUnchanged). */
  readonly stamp?: FileStamp;
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
interface LoadSpec<Name extends string> {
  readonly name: Name;
  readonly columns: readonly { readonly name: string; readonly required: boolean; readonly kind?: ColumnKind }[];
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
  for (const spec of Object.values(SOURCES)) out[spec.name] = await loadRaw(driver, spec, files[spec.name]);
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

async function loadRaw<Name extends string>(
  driver: Driver,
  spec: LoadSpec<Name>,
  f: SourceFile<Name> | undefined,
): Promise<LoadedSource<Name>> {
  const d = driver.dialect;
  const contract = spec.columns.map((c) => c.name);
  if (!f) {
    const cols = contract.map((c) => `NULL::VARCHAR AS ${d.quoteIdent(c)}`).join(', ');
    await driver.exec(`CREATE OR REPLACE TABLE raw_${spec.name} AS SELECT ${cols}, NULL::BIGINT AS __row WHERE FALSE`);
    return { source: spec.name, file: undefined, columns: contract, extraColumns: [], native: {}, relation: 'table' };
  }
  // Before anything is read of a file that will be read through a view.
  let stamp: FileStamp | undefined;
  try {
    stamp = f.format === 'parquet' ? stampOf(f.path) : undefined;
  } catch {
    stamp = undefined; // not readable: reading it below says so
  }
  let columns: string[];
  let types = new Map<string, string>();
  try {
    if (f.format === 'csv') {
      columns = csvHeader(f.path);
    } else {
      const described = await driver.query(d.sqlDescribe(f.path, f.format));
      columns = described.map((r) => String(r['column_name']));
      types = new Map(described.map((r) => [String(r['column_name']), String(r['column_type'])]));
    }
  } catch (e) {
    throw new NrrError(`${f.file}: cannot be read as ${f.format.toUpperCase()}: ${firstLine(e)}`);
  }
  const dupes = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (dupes.length > 0) throw new NrrError(`${f.file}: the header repeats column ${dupes.map((c) => `'${c}'`).join(', ')}`);
  const lower = new Map(columns.map((c) => [c.trim().toLowerCase(), c]));
  const missing = spec.columns.filter((c) => c.required && !lower.has(c.name));
  if (missing.length > 0) {
    throw new NrrError(
      `${f.file}: missing required column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c.name}'`).join(', ')} (found: ${columns.join(', ')}); see docs/data-contract.md`,
    );
  }
  checkForms(f.file, spec.forms ?? [], lower, columns);
  const contractSet = new Set(contract);
  const extra = columns.filter((c) => !contractSet.has(c.trim().toLowerCase()) && c !== '__row');
  const selectContract = contract.map((c) => {
    const actual = lower.get(c);
    return actual ? `${d.quoteIdent(actual)} AS ${d.quoteIdent(c)}` : `NULL::VARCHAR AS ${d.quoteIdent(c)}`;
  });
  const selectExtra = spec.extraColumnsAreAttributes ? extra.map((c) => d.quoteIdent(c)) : [];
  // Typed dates and money in a Parquet file are taken as they are: nothing to parse.
  const native: Record<string, NativeColumn> = {};
  const nativeActual = new Set<string>();
  if (f.format === 'parquet') {
    for (const c of spec.columns) {
      const actual = lower.get(c.name);
      const type = actual === undefined ? undefined : types.get(actual);
      if (c.kind === undefined || c.kind === 'text' || actual === undefined || type === undefined) continue;
      const n = d.nativeColumn(type, c.kind);
      if (n) {
        native[c.name] = n;
        nativeActual.add(actual);
      }
    }
  }
  const relation = f.format === 'parquet' ? 'view' : 'table';
  const read = f.format === 'parquet' ? d.sqlReadParquet(f.path, nativeActual) : d.sqlReadAsText(f.path, f.format, columns);
  try {
    await driver.exec(
      `CREATE OR REPLACE ${relation === 'view' ? 'VIEW' : 'TABLE'} raw_${spec.name} AS SELECT ${[...selectContract, ...selectExtra, '__row'].join(', ')} FROM (${read})`,
    );
    // A view reads nothing yet: count its rows so that a file that cannot be read fails here.
    if (relation === 'view') await driver.query(`SELECT count(*) AS n FROM raw_${spec.name}`);
  } catch (e) {
    throw new NrrError(`${f.file}: cannot be read: ${firstLine(e)}`);
  }
  return { source: spec.name, file: f.file, columns, extraColumns: extra, native, relation, ...(stamp ? { stamp } : {}) };
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

/** Removes `raw_<source>` once the typed tables exist. */
export function sqlDropRaw(s: LoadedSource<string>): string {
  return `DROP ${s.relation === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS raw_${s.source}`;
}

/** The header row of a CSV file: its column names. */
function csvHeader(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '');
    const end = text.search(/\r?\n/);
    if (end < 0 && n === buf.length) throw new Error('no end to the header row in the first 64 KB');
    const rows = parse(end < 0 ? text : text.slice(0, end), { relax_column_count: true }) as string[][];
    const header = rows[0];
    if (!header || header.every((h) => h.trim() === '')) throw new Error('the file is empty: expected a header row');
    return header.map((h) => h.trim());
  } finally {
    closeSync(fd);
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').slice(0, 3).join(' ').trim();
}
