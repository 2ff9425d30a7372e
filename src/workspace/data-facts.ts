import { SOURCES, type SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import type { Driver } from '../drivers/driver.js';
import { Money } from '../money.js';
import type { SourceMeta } from './build-from-files.js';
import { usageSetAside } from './usage-set-aside.js';
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
  /** The latest dated row of the revenue files, and of all files (see `freshness`). */
  readonly latestRevenue: string | null;
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
  const usageFile = sources.find((s) => s.source === 'usage')?.file ?? undefined;
  const setAside = await usageSetAside(driver, usageFile, currency);
  const facts = (
    await driver.query(`SELECT
      (SELECT count(DISTINCT account_id) FROM lines) AS accounts,
      (SELECT count(*) FROM lines) AS lines,
      (SELECT CAST(min(start_date) AS VARCHAR) FROM lines) AS first_date,
      (SELECT CAST(greatest(max(start_date), max(end_date)) AS VARCHAR) FROM lines) AS last_date,
      (SELECT list(DISTINCT currency ORDER BY currency) FROM (SELECT currency FROM lines UNION ALL SELECT currency FROM usage_charges)) AS currencies,
      (SELECT list(DISTINCT product ORDER BY product) FROM (SELECT product FROM lines UNION ALL SELECT product FROM usage_charges)) AS products,
      (SELECT min(from_month) FROM mrr_contributions) AS first_month`)
  )[0]!;
  const present = sources.filter((s) => !isRevenueSource(s.source) && s.file !== null).map((s) => s.source as SignalSourceName);
  const withUsage = (w: Warnings): Warnings => ({ warnings: [...w.warnings, ...setAside.warnings], warningCount: w.warningCount });
  return {
    sources,
    accounts: Number(facts['accounts']),
    lines: Number(facts['lines']),
    firstDate: (facts['first_date'] as string | null) ?? null,
    lastDate: (facts['last_date'] as string | null) ?? null,
    currencies: (facts['currencies'] as string[] | null) ?? [],
    products: (facts['products'] as string[] | null) ?? [],
    attributes: sources.find((s) => s.source === 'accounts')?.extraColumns ?? [],
    firstMonth: facts['first_month'] === null ? null : Number(facts['first_month']),
    revenue: withUsage(await sourceWarnings(driver, sources.filter((s) => isRevenueSource(s.source)))),
    all: withUsage(await sourceWarnings(driver, sources)),
    usageSetAside: { ...setAside.summary, amount: setAside.summary.amount.toString() },
    latestRevenue: await freshness(driver, []),
    latestAll: await freshness(driver, present),
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

/**
 * The latest dated row across the files: a line's start, a usage month (its last day), an observed
 * signal date. A line's end is not the date of its row: contract ends are known in advance.
 */
async function freshness(driver: Driver, signals: readonly SignalSourceName[]): Promise<string | null> {
  const parts = [
    'SELECT max(start_date) AS d FROM lines',
    `SELECT max(last_day(make_date(CAST(month_index // 12 AS INTEGER), CAST(month_index % 12 + 1 AS INTEGER), 1))) AS d FROM usage_charges`,
    ...signals.flatMap((s) => OBSERVED[s].map((e) => `SELECT max(${e}) AS d FROM signal_${s}`)),
  ];
  const [r] = await driver.query(`SELECT CAST(max(d) AS VARCHAR) AS d FROM (${parts.join(' UNION ALL ')})`);
  return (r?.['d'] as string | null) ?? null;
}
