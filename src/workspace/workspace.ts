import { findConfigFile, loadConfig, mergePolicies } from '../config/config-file.js';
import type { Policies, PolicyInput } from '../config/policies.js';
import type { SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import { sqlSignalTable } from '../contract/signal-validation-sql.js';
import { findSignalFiles, findSourceFiles } from '../contract/source-files.js';
import { sqlDropParsed, sqlTypedTables } from '../contract/validation-sql.js';
import type { Driver, Row } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { movementsNeedProductRanges, sqlMrrPieces, sqlContributions, sqlProductRanges, sqlUsageSetAside } from '../engine/ledger-model.js';
import { sqlAccountChanges, sqlAccountFirstRevenue, sqlAccountRanges } from '../engine/movements-model.js';
import { checkFullMonth, dayText, daysBetween, lastFullMonth, monthEnd, monthEndedBy, monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { resolveHealthConfig, type HealthConfig } from '../health/health-config.js';
import { DEFAULT_TIERS, type Tiers } from '../accounts/tiering.js';
import { DEFAULT_PLAYBOOKS, type Playbook } from '../playbooks/playbook-config.js';
import { RuleError, compileRule } from '../playbooks/rule-expression.js';
import { DEFAULT_PLAYBOOK_SETTINGS, configVersion, type PlaybookSettings } from '../playbooks/playbook-settings.js';
import { DuckDbDialect } from '../engine/duckdb-dialect.js';
import { checkDataFolder } from '../input-file.js';
import { checkMoneyTotals } from './money-limit.js';
import { checkUnchanged, loadRawSignalSources, loadRawSources, sqlDropRaw, type LoadedSource } from './load-sources.js';
import { silentProgress, type Progress } from './progress.js';
import { usageSetAside, type UsageSetAside } from './usage-set-aside.js';
import { countRows, validate } from './validate-sources.js';
import type { ValidationIssue } from './validation-report.js';

export interface OpenOptions {
  /** The data folder (see docs/data-contract.md). */
  readonly data: string;
  /** A workspace config; default `nrr.config.yaml` in the data folder or the current folder. */
  readonly config?: string;
  /** Policies that override the config's. */
  readonly policies?: PolicyInput;
  /** Set invalid rows aside (written to `rejectsFile`) instead of refusing to compute. */
  readonly skipInvalid?: boolean;
  /** Where rejected rows go with --skip-invalid; default `rejected.csv` in the data folder. */
  readonly rejectsFile?: string;
  /** Replace a rejects file that nrr did not write (see owned-files.ts); without it such a file is refused. */
  readonly force?: boolean;
  /** How many problems a ValidationError lists (default 20); the count covers them all. */
  readonly maxListedErrors?: number;
  readonly progress?: Progress;
  /** Today, for the default reporting month and the day live views look from (tests pin it). */
  readonly today?: Date;
  /**
   * The day live views (account records, playbooks, tasks, the dashboard) look from, YYYY-MM-DD.
   * Default: today, or the last day of a pinned `as_of` month.
   */
  readonly day?: string;
  /** Accept a reporting month that is not over yet (its figures are marked partial). */
  readonly allowPartial?: boolean;
  /** A database to use instead of a fresh in-memory DuckDB. */
  readonly driver?: Driver;
  /**
   * Also read and validate the signal files (product usage, seats, meetings, …) into typed
   * `signal_<source>` tables. Off by default: revenue reports do not need them.
   */
  readonly signals?: boolean;
}

export interface Scoring {
  readonly health: HealthConfig;
  readonly tiers: Tiers;
  readonly playbooks: readonly Playbook[];
  /** Where play state lives, the budget per owner, destinations; `version` hashes the rules. */
  readonly playbookSettings: PlaybookSettings;
  readonly playbookVersion: string;
}

/** Every trigger must compile: a mistake is reported when the workspace opens, not when a play runs. */
function checkPlaybooks(playbooks: readonly Playbook[], configFile: string | undefined): void {
  for (const p of playbooks) {
    for (const key of ['when', 'exit'] as const) {
      const rule = p[key];
      if (rule === undefined) continue;
      try {
        compileRule(rule, CHECK_DIALECT);
      } catch (e) {
        if (e instanceof RuleError) throw new NrrError(`${configFile ?? 'built-in playbooks'}: playbook '${p.name}', ${key}: ${e.message}`);
        throw e;
      }
    }
  }
}
const CHECK_DIALECT = new DuckDbDialect();

export interface SourceSummary {
  readonly source: SourceName | SignalSourceName;
  readonly file: string;
  readonly rows: number;
  readonly rejected: number;
}

/** What a run read: printed before every report. */
export interface ReadSummary {
  readonly sources: readonly SourceSummary[];
  readonly accounts: number;
  readonly lines: number;
  readonly firstDate: string | null;
  readonly lastDate: string | null;
  readonly currencies: readonly string[];
  readonly products: readonly string[];
  readonly attributes: readonly string[];
  readonly firstMonth: string | null;
  readonly asOf: string;
  readonly warnings: readonly ValidationIssue[];
  readonly warningCount: number;
  /** Usage charges that are not MRR: outside every contract line of their account (also a warning). */
  readonly usageSetAside: UsageSetAside;
  readonly rejectsFile: string | null;
  readonly configFile: string | null;
  /** The day the run took as today (YYYY-MM-DD). */
  readonly today: string;
  /** The reporting month is not over yet (only with `allowPartial`): its figures are partial. */
  readonly partial: boolean;
  /** The latest dated row across the files read (see `freshness`), or null without one. */
  readonly latestDate: string | null;
  /** Set when the data looks like an old export: printed by every surface. */
  readonly stale: StaleData | null;
}

/** The data ends long before the reporting month does: it looks like an export from `latest_date`. */
export interface StaleData {
  readonly latest_date: string;
  /** The end of the reporting month (or today, when that month is not over). */
  readonly reference_date: string;
  readonly days: number;
  readonly message: string;
}

/** How far the latest dated row may lie before the end of the reporting month without a warning. */
export const STALE_AFTER_DAYS = 45;

/** The dates a workspace looks from. */
export interface ReportingDates {
  /** Today (YYYY-MM-DD), real or pinned. */
  readonly today: string;
  /** The last month over before today, as a month index. */
  readonly lastFullMonth: number;
  /** The day live views look from: `day`, else the end of a pinned `as_of` month, else today. */
  readonly liveDate: string;
  /** The reporting month is after the last full month. */
  readonly partial: boolean;
}

/**
 * A loaded, validated data folder with its revenue model built in an embedded database.
 * @example
 * const ws = await Workspace.open({ data: 'examples/acme' });
 * const [m] = await metrics(ws, { month: '2024-12', window: 12 });
 */
export class Workspace {
  private constructor(
    readonly driver: Driver,
    readonly policies: Policies,
    readonly summary: ReadSummary,
    /** The last month reported, as a month index. */
    readonly asOfMonth: number,
    readonly firstMonth: number | null,
    readonly attributes: readonly string[],
    /** The signal files read (with `signals: true`); their typed tables are `signal_<source>`. */
    readonly signalSources: readonly SignalSourceName[],
    /** The health score's definition and the tiering rules, from the config or built in. */
    readonly scoring: Scoring,
    /** The data folder it was opened from. */
    readonly dataDir: string,
    /** Today, the day live views look from, and whether the reporting month is partial. */
    readonly dates: ReportingDates,
  ) {}

  static async open(options: OpenOptions): Promise<Workspace> {
    const progress = options.progress ?? silentProgress;
    checkDataFolder(options.data);
    const files = findSourceFiles(options.data);
    const configFile = findConfigFile(options.config, options.data);
    const config = loadConfig(configFile);
    const policies = mergePolicies(config.policies, options.policies);
    const playbooks = config.playbooks ?? DEFAULT_PLAYBOOKS;
    const playbookSettings = config.playbook_settings ?? DEFAULT_PLAYBOOK_SETTINGS;
    const scoring: Scoring = {
      health: resolveHealthConfig(config.health),
      tiers: config.tiers ?? DEFAULT_TIERS,
      playbooks,
      playbookSettings,
      playbookVersion: configVersion(playbooks, playbookSettings),
    };
    checkPlaybooks(scoring.playbooks, configFile);
    const dates = reportingDates(options, policies);
    const driver = options.driver ?? (await DuckDbDriver.open());
    try {
      progress.step('reading files');
      const loaded = await loadRawSources(driver, files);
      const signals = options.signals ? await loadRawSignalSources(driver, findSignalFiles(options.data)) : null;
      const all: LoadedSource<SourceName | SignalSourceName>[] = [...Object.values(loaded), ...Object.values(signals ?? {})];
      progress.step('validating');
      const issues = await validate(driver, policies, loaded, signals, all, options);
      progress.step('building the MRR ledger');
      const attributes = loaded.accounts.extraColumns;
      for (const sql of sqlTypedTables(driver.dialect, attributes, issues.errors > 0)) await driver.exec(sql);
      await checkMoneyTotals(driver);
      for (const s of Object.values(signals ?? {})) {
        await driver.exec(sqlSignalTable(driver.dialect, s.source, s.file !== undefined, issues.errors > 0, policies.timezone));
      }
      const rowCounts = await countRows(driver, all);
      checkUnchanged(all);
      // Text copies of the input are only needed until the typed tables exist: free their memory.
      for (const sql of sqlDropParsed()) await driver.exec(sql);
      for (const s of all) await driver.exec(sqlDropRaw(s));
      await buildModel(driver, policies, progress);
      const extent = await dataExtent(driver);
      const asOf = dates.asOf;
      const latest = await freshness(driver, Object.values(signals ?? {}).filter((s) => s.file !== undefined).map((s) => s.source));
      const summary = {
        ...(await readSummary(driver, loaded, rowCounts, issues, asOf, extent.first, configFile, policies.reporting_currency)),
        today: dates.today,
        partial: dates.partial,
        latestDate: latest,
        stale: staleness(latest, asOf, dates.today),
      };
      progress.done();
      const present = Object.values(signals ?? {}).filter((s) => s.file !== undefined).map((s) => s.source);
      const ws = new Workspace(driver, policies, summary, asOf, extent.first, attributes, present, scoring, options.data, dates);
      if (movementsNeedProductRanges(policies)) ws.productRanges = Promise.resolve();
      return ws;
    } catch (e) {
      progress.done();
      if (!options.driver) driver.close();
      throw e;
    }
  }

  private productRanges: Promise<void> | null = null;

  /**
   * Builds `product_ranges` (the ledger per account × product) the first time a question needs
   * it: reports by product, per-product MRR, metrics with monthly FX.
   */
  ensureProductRanges(): Promise<void> {
    this.productRanges ??= this.driver.exec(sqlProductRanges()).catch((e: unknown) => {
      this.productRanges = null;
      throw e;
    });
    return this.productRanges;
  }

  /** Runs a query of the model. */
  query(sql: string): Promise<Row[]> {
    return this.driver.query(sql);
  }

  close(): void {
    this.driver.close();
  }
}

async function buildModel(driver: Driver, p: Policies, progress: Progress): Promise<void> {
  const d = driver.dialect;
  await driver.exec(sqlUsageSetAside(d, p));
  await driver.exec(sqlContributions(d, p));
  const pieces = movementsNeedProductRanges(p);
  if (pieces) await driver.exec(sqlProductRanges());
  progress.step('computing movements');
  if (pieces) await driver.exec(sqlMrrPieces(d, p));
  await driver.exec(sqlAccountChanges(d, p));
  if (pieces) await driver.exec('DROP TABLE mrr_pieces');
  await driver.exec(sqlAccountRanges());
  await driver.exec(sqlAccountFirstRevenue());
}

async function dataExtent(driver: Driver): Promise<{ first: number | null }> {
  const rows = await driver.query(`SELECT min(from_month) AS first FROM mrr_contributions`);
  const r = rows[0]!;
  return { first: r['first'] === null ? null : Number(r['first']) };
}

/**
 * The reporting month and the live day. The reporting month is `as_of` (flag or config) or the last
 * full month before today; a month that is not over yet is refused unless partial months are allowed.
 */
function reportingDates(options: OpenOptions, policies: Policies): ReportingDates & { asOf: number } {
  const today = dayText(options.today ?? new Date());
  const full = lastFullMonth(new Date(`${today}T00:00:00Z`));
  const asOf = policies.as_of ? monthIndex(policies.as_of) : full;
  checkFullMonth(asOf, today, options.allowPartial ?? false, 'the reporting month (as_of or --as-of)');
  const pinned = policies.as_of ? monthEnd(asOf) : today;
  const liveDate = options.day ?? (pinned < today ? pinned : today);
  return { today, lastFullMonth: full, liveDate, partial: asOf > full, asOf };
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

/** The note every output of a partial month carries. */
export function partialNote(month: string, today: string): string {
  return `${month} is a partial month: it is not over (today is ${today}), so its figures count only what is known so far`;
}

/** What every surface says about the dates of a run: a partial reporting month, a stale-looking export. */
export function dateNotes(s: ReadSummary): string[] {
  return [...(s.partial ? [partialNote(s.asOf, s.today)] : []), ...(s.stale ? [s.stale.message] : [])];
}

/**
 * The last month whose outcomes the data can show: the reporting month, or, when the data looks like
 * an old export and no reporting month was pinned, the last month over by its latest dated row. Health validity and playbook backtests
 * end their snapshots a horizon before it, so that a renewal the export could not show yet is never
 * read as churn.
 * @example outcomesKnownThrough(ws) // 2024-06 as a month index for an export whose last row is 2024-06-30
 */
export function outcomesKnownThrough(ws: { readonly asOfMonth: number; readonly summary: ReadSummary; readonly policies: Policies }): number {
  const stale = ws.summary.stale;
  // A reporting month the user pinned (--as-of, as_of) is taken at its word.
  return stale && ws.policies.as_of === null ? Math.min(ws.asOfMonth, monthEndedBy(stale.latest_date)) : ws.asOfMonth;
}

/** A warning when the latest dated row lies more than STALE_AFTER_DAYS before the reporting month's end. */
export function staleness(latest: string | null, asOf: number, today: string): StaleData | null {
  if (latest === null) return null;
  const end = monthEnd(asOf);
  const reference = end < today ? end : today;
  const days = daysBetween(latest, reference);
  if (days <= STALE_AFTER_DAYS) return null;
  const month = monthText(monthEndedBy(latest));
  return {
    latest_date: latest,
    reference_date: reference,
    days,
    message:
      `the latest dated row in the files is ${latest}, ${days} days before ${reference} (the end of the reporting month ${monthText(asOf)}): ` +
      `the data looks like an export from ${latest}. If it is, pass --as-of ${month} (or as_of: '${month}' in the config) to report as of then, ` +
      `and --as-of ${latest} to the account, playbook and task commands`,
  };
}

async function readSummary(
  driver: Driver,
  loaded: Record<SourceName, LoadedSource>,
  sources: readonly SourceSummary[],
  issues: { warnings: ValidationIssue[]; warningCount: number; rejectsFile: string | null },
  asOf: number,
  first: number | null,
  configFile: string | undefined,
  currency: string,
): Promise<Omit<ReadSummary, 'today' | 'partial' | 'latestDate' | 'stale'>> {
  const setAside = await usageSetAside(driver, loaded.usage.file, currency);
  const facts = (
    await driver.query(`SELECT
      (SELECT count(DISTINCT account_id) FROM lines) AS accounts,
      (SELECT count(*) FROM lines) AS lines,
      (SELECT CAST(min(start_date) AS VARCHAR) FROM lines) AS first_date,
      (SELECT CAST(greatest(max(start_date), max(end_date)) AS VARCHAR) FROM lines) AS last_date,
      (SELECT list(DISTINCT currency ORDER BY currency) FROM (SELECT currency FROM lines UNION ALL SELECT currency FROM usage_charges)) AS currencies,
      (SELECT list(DISTINCT product ORDER BY product) FROM (SELECT product FROM lines UNION ALL SELECT product FROM usage_charges)) AS products`)
  )[0]!;
  return {
    sources,
    accounts: Number(facts['accounts']),
    lines: Number(facts['lines']),
    firstDate: (facts['first_date'] as string | null) ?? null,
    lastDate: (facts['last_date'] as string | null) ?? null,
    currencies: (facts['currencies'] as string[] | null) ?? [],
    products: (facts['products'] as string[] | null) ?? [],
    attributes: loaded.accounts.extraColumns,
    firstMonth: first === null ? null : monthText(first),
    asOf: monthText(asOf),
    warnings: [...issues.warnings, ...setAside.warnings],
    warningCount: issues.warningCount,
    usageSetAside: setAside.summary,
    rejectsFile: issues.rejectsFile,
    configFile: configFile ?? null,
  };
}
