import { join } from 'node:path';
import type { Policies } from '../config/policies.js';
import type { SourceName } from '../contract/data-contract.js';
import { SIGNAL_SOURCES, type SignalSourceName } from '../contract/signal-contract.js';
import {
  sqlSignalCheckDone,
  sqlSignalFlaggedRows,
  sqlSignalIssues,
  sqlSignalParse,
  sqlSignalRepeats,
  type SignalCheck,
  type SignalNative,
} from '../contract/signal-validation-sql.js';
import { sqlParsedTables, sqlValidationIssues, type SourceFiles } from '../contract/validation-sql.js';
import { sqlNearDuplicateIds } from '../contract/value-rules-sql.js';
import type { Driver } from '../drivers/driver.js';
import type { NativeColumn } from '../engine/dialect.js';
import { replaceFile } from './owned-files.js';
import { idSources, type LoadedSource } from './load-sources.js';
import { ValidationError, issueOf, type ValidationIssue } from './validation-report.js';
import type { OpenOptions, SourceSummary } from './workspace.js';

/**
 * Checks the rows of the files read (raw_<source>) against the data contract into
 * `validation_issues`; refuses on an error unless invalid rows are set aside (then writes them to
 * the rejects file).
 */
export async function validate(
  driver: Driver,
  policies: Policies,
  loaded: Record<SourceName, LoadedSource>,
  signals: Record<SignalSourceName, LoadedSource<SignalSourceName>> | null,
  all: readonly LoadedSource<SourceName | SignalSourceName>[],
  options: OpenOptions,
  /** The signal files' typed tables will be copies (see copyTyped in ReadOptions). */
  copyTyped = false,
  /** The subscriptions are parsed in the order of their accounts (see ordered in ReadOptions). */
  ordered = false,
): Promise<{ errors: number; rejectsFile: string | null }> {
  const d = driver.dialect;
  const files: SourceFiles = {};
  for (const s of Object.values(loaded)) if (s.file) files[s.source] = { file: s.file, native: contractNative(s.native), columns: s.columns };
  for (const sql of sqlParsedTables(d, policies, files, ordered)) await driver.exec(sql);
  // Which files have rows that break a rule, asked first: the rules of the others need not run.
  const flaggedRowsOf = (source: string): string =>
    source in SIGNAL_SOURCES ? sqlSignalFlaggedRows(source as SignalSourceName) : `SELECT __row FROM parsed_${source} WHERE p_flagged`;
  const hasFlagged = async (source: string): Promise<boolean> => Number((await driver.query(`SELECT count(*) AS n FROM (${flaggedRowsOf(source)})`))[0]!['n']) > 0;
  const flaggedContract = new Set<string>();
  for (const s of Object.keys(files)) if (await hasFlagged(s)) flaggedContract.add(s);
  for (const sql of sqlValidationIssues(d, policies, files, flaggedContract)) await driver.exec(sql);
  for (const s of Object.values(signals ?? {})) {
    if (s.file === undefined) continue;
    const check: SignalCheck = {
      d,
      source: s.source,
      read: { file: s.file, native: s.native },
      hasAccountsFile: loaded.accounts.file !== undefined,
      reportingCurrency: policies.reporting_currency,
      timeZone: policies.timezone,
    };
    await validateSignal(driver, check, copyTyped);
  }
  // Rows that spell an id otherwise were flagged by the pass over their file: only files with
  // flagged rows are read again.
  const flagged = new Map<string, string>();
  for (const s of all) {
    if (s.file === undefined) continue;
    if (s.source in SIGNAL_SOURCES ? await hasFlagged(s.source) : flaggedContract.has(s.source)) flagged.set(s.source, flaggedRowsOf(s.source));
  }
  const nearDuplicates = sqlNearDuplicateIds(d, idSources(all), flagged);
  if (nearDuplicates?.odd) {
    await driver.exec(nearDuplicates.odd);
    const [odd] = await driver.query('SELECT count(*) AS n FROM odd_ids');
    if (Number(odd!['n']) > 0) await driver.exec(nearDuplicates.warnings);
    await driver.exec('DROP TABLE odd_ids');
  }
  await nameRowsByKey(driver, all);
  const counts = await driver.query(
    `SELECT count(*) FILTER (WHERE severity = 'error') AS errors FROM validation_issues`,
  );
  const errors = Number(counts[0]!['errors']);
  const list = async (severity: string, limit: number): Promise<ValidationIssue[]> =>
    (
      await driver.query(
        `SELECT * FROM validation_issues WHERE severity = '${severity}' ORDER BY source, row, "column" LIMIT ${limit}`,
      )
    ).map(issueOf);
  let rejectsFile: string | null = null;
  if (errors > 0) {
    if (!options.skipInvalid) {
      throw new ValidationError(await list('error', options.maxListedErrors ?? 20), errors);
    }
    rejectsFile = options.rejectsFile ?? join(options.data, 'rejected.csv');
    await writeRejects(driver, all, rejectsFile, options.force);
  }
  return { errors, rejectsFile };
}

/**
 * A table's rows have no line numbers: each issue of a table gets `row_key`, its row named by its
 * key columns (`__key` of raw_<source>, see load-tables.ts).
 */
async function nameRowsByKey(driver: Driver, all: readonly LoadedSource<SourceName | SignalSourceName>[]): Promise<void> {
  const keyed = all.filter((s) => s.keyed === true);
  if (keyed.length === 0) return;
  await driver.exec('ALTER TABLE validation_issues ADD COLUMN row_key VARCHAR');
  for (const s of keyed) {
    await driver.exec(
      `UPDATE validation_issues v SET row_key = r.__key FROM raw_${s.source} r WHERE v.source = ${driver.dialect.quoteString(s.source)} AND v.row = r.__row`,
    );
  }
}

/** The typed columns of a file of the contract: dates and money (a signal file's counts and booleans are not among them). */
function contractNative(native: Readonly<Record<string, SignalNative>>): Record<string, NativeColumn> {
  const out: Record<string, NativeColumn> = {};
  for (const [c, n] of Object.entries(native)) if (n.type !== 'boolean' && n.type !== 'number') out[c] = n;
  return out;
}

/**
 * One signal file: the pass that parses and checks every row into its typed table, repeated keys,
 * then messages for the rows that break a rule (only when there are any).
 */
async function validateSignal(driver: Driver, check: SignalCheck, copyTyped: boolean): Promise<void> {
  const count = async (sql: string): Promise<number> => Number((await driver.query(sql))[0]!['n']);
  await driver.exec(sqlSignalParse(check));
  const repeats = sqlSignalRepeats(check);
  await driver.exec(repeats.candidates);
  if ((await count('SELECT count(*) AS n FROM signal_candidates')) > 0) {
    for (const sql of repeats.exact) await driver.exec(sql);
  } else {
    await driver.exec(repeats.none);
  }
  if ((await count(`SELECT count(*) AS n FROM (${sqlSignalFlaggedRows(check.source)})`)) > 0) await driver.exec(sqlSignalIssues(check));
  for (const sql of sqlSignalCheckDone(check.source, copyTyped)) await driver.exec(sql);
}

async function writeRejects(driver: Driver, loaded: readonly LoadedSource<string>[], path: string, force?: boolean): Promise<void> {
  const d = driver.dialect;
  const parts = loaded
    .filter((s) => s.file)
    .map(
      (s) => `SELECT v.source, v.file, v.row,
                string_agg(v."column" || ' = ' || coalesce('''' || v.value || '''', '(empty)') || ': expected ' || v.expected, '; ' ORDER BY v."column") AS reasons,
                any_value(CAST(to_json(r) AS VARCHAR)) AS original_row
         FROM validation_issues v JOIN raw_${s.source} r ON r.__row = v.row
         WHERE v.source = ${d.quoteString(s.source)} AND v.severity = 'error' GROUP BY ALL`,
    );
  // Written whole under a temporary name, never over a file of the user's (owned-files.ts).
  await replaceFile(path, (tmp) => driver.exec(`COPY (${parts.join(' UNION ALL ')} ORDER BY source, row) TO ${d.quoteString(tmp)} (FORMAT csv, HEADER, DELIMITER ',')`), {
    force,
    option: '--rejects',
  });
}

/** Rows read and rows set aside, per source file. */
export async function countRows(driver: Driver, loaded: readonly LoadedSource<SourceName | SignalSourceName>[]): Promise<SourceSummary[]> {
  const sources: SourceSummary[] = [];
  for (const s of loaded) {
    if (!s.file) continue;
    const r = await driver.query(
      `SELECT (SELECT count(*) FROM raw_${s.source}) AS n,
              (SELECT count(DISTINCT row) FROM validation_issues WHERE source = '${s.source}' AND severity = 'error') AS bad`,
    );
    sources.push({ source: s.source, file: s.file, rows: Number(r[0]!['n']), rejected: Number(r[0]!['bad']) });
  }
  return sources;
}
