import { SOURCES, type SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import type { Driver, Row } from '../drivers/driver.js';
import { Money } from '../money.js';
import type { SourceMeta } from './build-from-files.js';
import { usageSetAside, type UsageSetAside } from './usage-set-aside.js';
import { issueOf, type ValidationIssue } from './validation-report.js';

/** The warnings printed before every report, and how many there are in all. */
export interface Warnings {
  readonly warnings: readonly ValidationIssue[];
  readonly warningCount: number;
}

/**
 * What the data holds, independent of the day it is looked at from: kept by the store with the
 * tables, so that opening an unchanged workspace reads nothing of the files. Money is text.
 */
export interface DataFacts {
  readonly sources: readonly SourceMeta[];
  readonly accounts: number;
  readonly lines: number;
  readonly firstDate: string | null;
  readonly lastDate: string | null;
  readonly currencies: readonly string[];
  readonly products: readonly string[];
  readonly attributes: readonly string[];
  /** The first month with MRR, as a month index. */
  readonly firstMonth: number | null;
  /** The warnings of the revenue files alone, and of all files with the signal files. */
  readonly revenue: Warnings;
  readonly all: Warnings;
  readonly usageSetAside: { readonly charges: number; readonly accounts: number; readonly amount: string; readonly currency: string };
  /** The latest dated row of the revenue files, and of all files (see `sqlRevenueFacts`). */
  readonly latestRevenue: string | null;
  /** The latest observed date of the signal files (null without any, or in a store written before it was kept). */
  readonly latestSignals?: string | null;
  readonly latestAll: string | null;
  /** The signal files present. */
  readonly presentSignals: readonly SignalSourceName[];
}

const REVENUE = new Set<string>(Object.keys(SOURCES));
export const isRevenueSource = (source: string): source is SourceName => REVENUE.has(source);

/**
 * The facts of the data in the database (typed tables, `validation_issues`, the model) for the
 * sources read.
 */
export async function dataFacts(driver: Driver, sources: readonly SourceMeta[], currency: string): Promise<DataFacts> {
  const present = sources.filter((s) => !isRevenueSource(s.source) && s.file !== null).map((s) => s.source as SignalSourceName);
  const [revenue] = await driver.query(sqlRevenueFacts({ lines: 'lines', usage: 'usage_charges', contributions: 'mrr_contributions' }));
  const [signals] = await driver.query(`SELECT CAST(max(d) AS VARCHAR) AS d FROM (${['SELECT NULL::DATE AS d', ...present.map((p) => sqlSignalLatest(p, `signal_${p}`))].join(' UNION ALL ')})`);
  return factsOf(driver, sources, currency, revenueFactsOf(revenue!), (signals?.['d'] as string | null) ?? null);
}

/** The facts of the revenue tables that a change to some accounts can update without reading the others. */
export interface RevenueFacts {
  readonly accounts: number;
  readonly lines: number;
  readonly firstDate: string | null;
  readonly lastDate: string | null;
  readonly currencies: readonly string[];
  readonly products: readonly string[];
  readonly firstMonth: number | null;
  /** The latest dated row of the revenue files (see `sqlRevenueFacts`). */
  readonly latest: string | null;
}

/** Relations of lines, usage charges and their MRR contributions (all of a workspace, or some accounts'). */
export interface RevenueRelations {
  readonly lines: string;
  readonly usage: string;
  readonly contributions: string;
}

/**
 * One row: the revenue facts of these relations. The latest dated row is a line's start or a usage
 * month (its last day); a line's end is not the date of its row: contract ends are known in advance.
 */
export function sqlRevenueFacts(r: RevenueRelations): string {
  return `SELECT ${REVENUE_FACTS.map((f) => `(${sqlRevenueFact(r, f)}) AS ${f}`).join(',\n      ')}`;
}

/** The revenue facts, by the names of their columns in sqlRevenueFacts. */
export const REVENUE_FACTS = ['accounts', 'lines', 'first_date', 'last_date', 'currencies', 'products', 'first_month', 'latest'] as const;
export type RevenueFact = (typeof REVENUE_FACTS)[number];

/** One revenue fact of these relations: a query of one row and one column (see sqlRevenueFacts). */
export function sqlRevenueFact(r: RevenueRelations, fact: RevenueFact): string {
  switch (fact) {
    case 'accounts':
      return `SELECT count(DISTINCT account_id) FROM ${r.lines}`;
    case 'lines':
      return `SELECT count(*) FROM ${r.lines}`;
    case 'first_date':
      return `SELECT CAST(min(start_date) AS VARCHAR) FROM ${r.lines}`;
    case 'last_date':
      return `SELECT CAST(greatest(max(start_date), max(end_date)) AS VARCHAR) FROM ${r.lines}`;
    case 'currencies':
      return `SELECT list(DISTINCT currency ORDER BY currency) FROM (SELECT currency FROM ${r.lines} UNION ALL SELECT currency FROM ${r.usage})`;
    case 'products':
      return `SELECT list(DISTINCT product ORDER BY product) FROM (SELECT product FROM ${r.lines} UNION ALL SELECT product FROM ${r.usage})`;
    case 'first_month':
      return `SELECT min(from_month) FROM ${r.contributions}`;
    case 'latest':
      return `SELECT CAST(max(d) AS VARCHAR) FROM (SELECT max(start_date) AS d FROM ${r.lines}
        UNION ALL SELECT max(last_day(make_date(CAST(month_index // 12 AS INTEGER), CAST(month_index % 12 + 1 AS INTEGER), 1))) FROM ${r.usage})`;
  }
}

/**
 * Which of `values` of `column` (currency or product) some row of these relations' lines or usage
 * charges still holds: for each value, each relation is read only until a row holding it is found.
 */
export function sqlValuesHeld(r: RevenueRelations, column: 'currency' | 'product', values: readonly string[], quote: (v: string) => string): string {
  return values
    .flatMap((v) => [r.lines, r.usage].map((t) => `(SELECT ${column} AS v FROM ${t} WHERE ${column} = ${quote(v)} LIMIT 1)`))
    .join(' UNION ALL ');
}

export function revenueFactsOf(row: Row): RevenueFacts {
  return {
    accounts: Number(row['accounts']),
    lines: Number(row['lines']),
    firstDate: (row['first_date'] as string | null) ?? null,
    lastDate: (row['last_date'] as string | null) ?? null,
    currencies: (row['currencies'] as string[] | null) ?? [],
    products: (row['products'] as string[] | null) ?? [],
    firstMonth: row['first_month'] === null || row['first_month'] === undefined ? null : Number(row['first_month']),
    latest: (row['latest'] as string | null) ?? null,
  };
}

/** The revenue facts kept in `facts`. */
export function revenueFactsIn(f: DataFacts): RevenueFacts {
  return { accounts: f.accounts, lines: f.lines, firstDate: f.firstDate, lastDate: f.lastDate, currencies: f.currencies, products: f.products, firstMonth: f.firstMonth, latest: f.latestRevenue };
}

/**
 * The facts from their revenue part and the latest observed signal date; the warnings and the
 * usage set aside are read again (they are small).
 */
export async function factsOf(driver: Driver, sources: readonly SourceMeta[], currency: string, revenue: RevenueFacts, latestSignals: string | null): Promise<DataFacts> {
  const usageFile = sources.find((s) => s.source === 'usage')?.file ?? undefined;
  const setAside = await usageSetAside(driver, usageFile, currency);
  const files = {
    revenue: await sourceWarnings(driver, sources.filter((s) => isRevenueSource(s.source))),
    all: await sourceWarnings(driver, sources),
  };
  return assembleFacts(sources, revenue, latestSignals, files, setAside);
}

/**
 * The facts after an ingested batch, from those before it (`old`): the revenue part and the latest
 * signal date given; the files' warnings kept as they were (they are read from
 * `validation_issues`, which a batch never writes); the usage set aside read again only when
 * `setAsideChanged` (a revenue batch recomputes its accounts' usage set aside; a signal batch
 * leaves it as it was). Equal to factsOf over the same store.
 */
export async function factsAfterIngest(
  driver: Driver,
  old: DataFacts,
  currency: string,
  revenue: RevenueFacts,
  latestSignals: string | null,
  setAsideChanged: boolean,
): Promise<DataFacts> {
  // The usage set aside's warning (at most one) comes last in each list: what is before it is the files'.
  const kept = old.usageSetAside.charges > 0 ? 1 : 0;
  const files = (w: Warnings): Warnings => ({ warnings: w.warnings.slice(0, w.warnings.length - kept), warningCount: w.warningCount });
  const usageFile = old.sources.find((s) => s.source === 'usage')?.file ?? undefined;
  const setAside = setAsideChanged
    ? await usageSetAside(driver, usageFile, currency)
    : { summary: { ...old.usageSetAside, amount: Money.from(old.usageSetAside.amount) }, warnings: old.revenue.warnings.slice(old.revenue.warnings.length - kept) };
  return assembleFacts(old.sources, revenue, latestSignals, { revenue: files(old.revenue), all: files(old.all) }, setAside);
}

function assembleFacts(
  sources: readonly SourceMeta[],
  revenue: RevenueFacts,
  latestSignals: string | null,
  files: { readonly revenue: Warnings; readonly all: Warnings },
  setAside: { readonly summary: UsageSetAside; readonly warnings: readonly ValidationIssue[] },
): DataFacts {
  const present = sources.filter((s) => !isRevenueSource(s.source) && s.file !== null).map((s) => s.source as SignalSourceName);
  const withUsage = (w: Warnings): Warnings => ({ warnings: [...w.warnings, ...setAside.warnings], warningCount: w.warningCount });
  return {
    sources,
    accounts: revenue.accounts,
    lines: revenue.lines,
    firstDate: revenue.firstDate,
    lastDate: revenue.lastDate,
    currencies: revenue.currencies,
    products: revenue.products,
    attributes: sources.find((s) => s.source === 'accounts')?.extraColumns ?? [],
    firstMonth: revenue.firstMonth,
    revenue: withUsage(files.revenue),
    all: withUsage(files.all),
    usageSetAside: { ...setAside.summary, amount: setAside.summary.amount.toString() },
    latestRevenue: revenue.latest,
    latestSignals,
    latestAll: [revenue.latest, latestSignals].reduce<string | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null),
    presentSignals: present,
  };
}

/** The set-aside usage of the facts, with its money as Money. */
export function usageSetAsideOf(f: DataFacts): { charges: number; accounts: number; amount: Money; currency: string } {
  return { ...f.usageSetAside, amount: Money.from(f.usageSetAside.amount) };
}

/**
 * The first ten warnings of `validation_issues` for these sources, then what is wrong with the
 * files as a whole: columns outside the contract, no contract line, no accounts file.
 */
async function sourceWarnings(driver: Driver, sources: readonly SourceMeta[]): Promise<Warnings> {
  const names = sources.filter((s) => s.file !== null).map((s) => `'${s.source}'`);
  const where = `severity = 'warning' AND source IN (${names.length > 0 ? names.join(', ') : 'NULL'})`;
  const [count] = await driver.query(`SELECT count(*) AS n FROM validation_issues WHERE ${where}`);
  const warnings = (await driver.query(`SELECT * FROM validation_issues WHERE ${where} ORDER BY source, row, "column" LIMIT 10`)).map(issueOf);
  for (const s of sources) {
    if (s.file !== null && s.extraColumns.length > 0 && s.source !== 'accounts') {
      warnings.push({
        source: s.source,
        file: s.file,
        row: 0,
        column: s.extraColumns.join(', '),
        value: null,
        expected: 'a column of the data contract (these columns are ignored)',
        severity: 'warning',
      });
    }
  }
  const subscriptions = sources.find((s) => s.source === 'subscriptions');
  if (subscriptions !== undefined && subscriptions.rows === 0) {
    warnings.push({
      source: 'subscriptions',
      file: subscriptions.file ?? 'subscriptions',
      row: 0,
      column: '(rows)',
      value: null,
      expected: 'at least one contract line: the file has a header and no rows, so every figure is empty (docs/data-contract.md)',
      severity: 'warning',
    });
  }
  if (sources.some((s) => s.source === 'accounts' && s.file === null)) {
    warnings.push({
      source: 'accounts',
      file: 'accounts',
      row: 0,
      column: 'account_id',
      value: null,
      expected: 'an accounts file (without one, accounts have no attributes)',
      severity: 'warning',
    });
  }
  return { warnings, warningCount: Number(count!['n']) };
}

/**
 * The date of each signal row: the day something was observed or happened. Scheduled dates (a
 * milestone's target, a meeting still to come, an expected close) and the end of a role are left
 * out: an export written long ago holds them too.
 */
const OBSERVED: Record<SignalSourceName, readonly string[]> = {
  product_usage: ['week'],
  seats: ['last_day(month)'],
  onboarding: ['achieved_date'],
  meetings: [`CASE WHEN status <> 'scheduled' THEN scheduled_date END`],
  contacts: ['start_date', 'last_engaged'],
  tickets: ['opened_date', 'closed_date'],
  enrichment: ['date'],
  opportunities: ['created_date', `CASE WHEN stage <> 'open' THEN close_date END`],
};

/** One row, `d`: the latest observed date of a signal source's rows in `relation` (see OBSERVED). */
export function sqlSignalLatest(source: SignalSourceName, relation: string): string {
  return `SELECT max(d) AS d FROM (${OBSERVED[source].map((e) => `SELECT max(${e}) AS d FROM ${relation}`).join(' UNION ALL ')})`;
}
