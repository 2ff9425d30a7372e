import { findConfigFile, loadConfig, mergePolicies } from '../config/config-file.js';
import type { Policies, PolicyInput } from '../config/policies.js';
import type { SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import { findSignalFiles, findSourceFiles, type SourceFile } from '../contract/source-files.js';
import type { Driver, Row } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { movementsNeedProductRanges, sqlProductRanges } from '../engine/ledger-model.js';
import { checkFullMonth, dayText, daysBetween, lastFullMonth, monthEnd, monthEndedBy, monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { resolveHealthConfig, type HealthConfig } from '../health/health-config.js';
import { DEFAULT_TIERS, type Tiers } from '../accounts/tiering.js';
import { sqlUsageWeeks } from '../accounts/account-record-sql.js';
import { DEFAULT_PLAYBOOKS, type Playbook } from '../playbooks/playbook-config.js';
import { RuleError, compileRule } from '../playbooks/rule-expression.js';
import { DEFAULT_PLAYBOOK_SETTINGS, configVersion, type PlaybookSettings } from '../playbooks/playbook-settings.js';
import { DuckDbDialect } from '../engine/duckdb-dialect.js';
import { checkDataFolder } from '../input-file.js';
import { openStoredWorkspace } from '../store/open-store.js';
import { buildModel, readFiles } from './build-from-files.js';
import { dataFacts, isRevenueSource, usageSetAsideOf, type DataFacts } from './data-facts.js';
import { silentProgress, type Progress } from './progress.js';
import type { UsageSetAside } from './usage-set-aside.js';
import type { ValidationIssue } from './validation-report.js';
import type { TableDatabase } from './load-tables.js';
import type { SourceTables } from '../config/warehouse-config.js';

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
  /**
   * The workspace store (docs/store.md). `false` reads and checks every file and computes in
   * memory, as `--no-store` does. Otherwise the store (default `.nrr/workspace.duckdb` in the data
   * folder, or `store_file` in the config, or `path`) is brought up to date with the files first
   * (only what changed is read again), unless `sync` is false, and every question is answered from it.
   */
  readonly store?: false | { readonly path?: string; readonly sync?: boolean; readonly rebuild?: boolean };
  /**
   * The database holding the tables the config's `warehouse.tables` names: with such a config
   * they are read instead of the files (docs/engines.md); without this, such a config is refused.
   */
  readonly tablesIn?: TableDatabase;
}

/** What opening a workspace settles before reading any data: its files, config, policies and dates. */
export interface OpenSetup {
  readonly files: Partial<Record<SourceName, SourceFile>>;
  readonly configFile: string | undefined;
  readonly policies: Policies;
  readonly scoring: Scoring;
  readonly dates: ReportingDates & { readonly asOf: number };
  /** The policies of the config alone: a store holds the model under these (flags that change the model compute in memory). */
  readonly configPolicies: Policies;
  /** The store's path from the config (`store_file`), absolute or relative to the data folder. */
  readonly storeFile: string | undefined;
  /** The config's `warehouse.tables`: the sources are read from them instead of from files. */
  readonly tables: SourceTables | null;
}

/** Settles the files, config, policies and dates of an open; reads no data. */
export function prepareOpen(options: OpenOptions): OpenSetup {
  checkDataFolder(options.data);
  const configFile = findConfigFile(options.config, options.data);
  const config = loadConfig(configFile);
  const tables = config.warehouse?.tables ?? null;
  if (tables !== null && options.tablesIn === undefined) {
    throw new NrrError(
      `${configFile}: warehouse.tables: the sources are tables in a warehouse, which nrr mrr, movements and metrics read (with --store URL or warehouse.url); the other commands read the files of a data folder so far (docs/engines.md)`,
    );
  }
  const files = tables === null ? findSourceFiles(options.data) : {};
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
  return {
    files,
    configFile,
    policies,
    configPolicies: mergePolicies(config.policies, undefined),
    scoring,
    dates: reportingDates(options, policies),
    storeFile: config.store_file,
    tables,
  };
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
  /** The latest dated row across the files read (see sqlRevenueFacts), or null without one. */
  readonly latestDate: string | null;
  /** Set when the data looks like an old export: printed by every surface. */
  readonly stale: StaleData | null;
  /** The store the answers come from, and what opening did to it; null when computed from the files alone. */
  readonly store: StoreUse | null;
  /** What every surface says about where the figures come from (e.g. the store was busy). */
  readonly notes: readonly string[];
}

/** The workspace store a run read (docs/store.md). */
export interface StoreUse {
  readonly path: string;
  /** read: it was up to date; updated: the changed files were read again, and the accounts they touch computed; rebuilt: built from every file. */
  readonly action: 'read' | 'updated' | 'rebuilt';
  /** The sources whose files were read again (all of them on a rebuild). */
  readonly changed: readonly string[];
  /** How many accounts were computed again (on an update). */
  readonly accounts: number | null;
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
    const setup = prepareOpen(options);
    if (options.driver === undefined && options.store !== false) {
      return openStoredWorkspace(setup, options);
    }
    return Workspace.openInMemory(setup, options);
  }

  /** Reads and checks every file into a database of its own and builds the model there (`--no-store`). */
  private static async openInMemory(setup: OpenSetup, options: OpenOptions): Promise<Workspace> {
    const progress = options.progress ?? silentProgress;
    const driver = options.driver ?? (await DuckDbDriver.open());
    try {
      const tables = setup.tables !== null && options.tablesIn !== undefined ? { map: setup.tables, db: options.tablesIn } : null;
      const read = await readFiles(driver, setup.policies, setup.files, options.signals ? findSignalFiles(options.data) : null, options, progress, tables);
      if (options.signals) await driver.exec(sqlUsageWeeks());
      await buildModel(driver, setup.policies, progress);
      const facts = await dataFacts(driver, read.sources, setup.policies.reporting_currency);
      progress.done();
      const ws = Workspace.assemble(driver, setup, options, facts, read.rejectsFile);
      if (movementsNeedProductRanges(setup.policies)) ws.productRanges = Promise.resolve();
      return ws;
    } catch (e) {
      progress.done();
      if (!options.driver) driver.close();
      throw e;
    }
  }

  /**
   * A workspace over tables that are already built (in memory or in a store), from the facts of
   * its data and the day it is opened on.
   * @internal
   */
  static assemble(
    driver: Driver,
    setup: OpenSetup,
    options: OpenOptions,
    facts: DataFacts,
    rejectsFile: string | null,
    productRangesBuilt = false,
    store: StoreUse | null = null,
  ): Workspace {
    const withSignals = options.signals ?? false;
    const warnings = withSignals ? facts.all : facts.revenue;
    const latest = withSignals ? facts.latestAll : facts.latestRevenue;
    const asOf = setup.dates.asOf;
    const summary: ReadSummary = {
      sources: facts.sources
        .filter((s) => s.file !== null && (withSignals || isRevenueSource(s.source)))
        .map((s) => ({ source: s.source, file: s.file!, rows: s.rows, rejected: s.rejected })),
      accounts: facts.accounts,
      lines: facts.lines,
      firstDate: facts.firstDate,
      lastDate: facts.lastDate,
      currencies: facts.currencies,
      products: facts.products,
      attributes: facts.attributes,
      firstMonth: facts.firstMonth === null ? null : monthText(facts.firstMonth),
      asOf: monthText(asOf),
      warnings: warnings.warnings,
      warningCount: warnings.warningCount,
      usageSetAside: usageSetAsideOf(facts),
      rejectsFile,
      configFile: setup.configFile ?? null,
      today: setup.dates.today,
      partial: setup.dates.partial,
      latestDate: latest,
      stale: staleness(latest, asOf, setup.dates.today),
      store,
      notes: [],
    };
    const present = withSignals ? facts.presentSignals : [];
    const ws = new Workspace(driver, setup.policies, summary, asOf, facts.firstMonth, facts.attributes, present, setup.scoring, options.data, setup.dates);
    if (productRangesBuilt) ws.productRanges = Promise.resolve();
    return ws;
  }

  private productRanges: Promise<void> | null = null;

  /**
   * Builds `product_ranges` (the ledger per account × product) the first time a question needs
   * it: reports by product, per-product MRR, metrics with monthly FX.
   */
  ensureProductRanges(): Promise<void> {
    this.productRanges ??= this.driver.exec(sqlProductRanges(this.driver.dialect)).catch((e: unknown) => {
      this.productRanges = null;
      throw e;
    });
    return this.productRanges;
  }

  /** The same workspace with a note every surface prints (see ReadSummary.notes). */
  withNote(note: string): Workspace {
    return this.copy({ summary: { ...this.summary, notes: [...this.summary.notes, note] } });
  }

  /**
   * The same workspace read through another connection to its database (Driver.connect): for work
   * that runs beside the queries of the first, such as scoring every account in the background.
   * Closing it closes that connection only.
   */
  through(driver: Driver): Workspace {
    return this.copy({ driver });
  }

  private copy(o: { readonly driver?: Driver; readonly summary?: ReadSummary }): Workspace {
    const ws = new Workspace(o.driver ?? this.driver, this.policies, o.summary ?? this.summary, this.asOfMonth, this.firstMonth, this.attributes, this.signalSources, this.scoring, this.dataDir, this.dates);
    ws.productRanges = this.productRanges;
    return ws;
  }

  /** Runs a query of the model. */
  query(sql: string): Promise<Row[]> {
    return this.driver.query(sql);
  }

  close(): void {
    this.driver.close();
  }
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

/** The note every output of a partial month carries. */
export function partialNote(month: string, today: string): string {
  return `${month} is a partial month: it is not over (today is ${today}), so its figures count only what is known so far`;
}

/** What every surface says about the dates of a run: a partial reporting month, a stale-looking export. */
export function dateNotes(s: ReadSummary): string[] {
  return [...(s.partial ? [partialNote(s.asOf, s.today)] : []), ...(s.stale ? [s.stale.message] : []), ...s.notes];
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
