import { existsSync, statSync } from 'node:fs';
import { defaultSnapshot, type ScoredAccount } from '../accounts/account-records.js';
import { materializeAccountScores, readAccountScores, readScoreColumns } from '../accounts/account-scores.js';
import { sqlAccountIn } from '../accounts/account-record-sql.js';

import type { AccountFilter } from '../engine/account-filter.js';
import type { MovementCategory } from '../engine/movements-model.js';
import { Money } from '../money.js';
import { NrrError } from '../errors.js';
import { MIN_CHURN_EVENTS, MIN_TRAINING_MONTHS } from '../forecast/forecast-model.js';
import { filterWords } from '../engine/account-filter.js';
import { NO_PROBABILITY, accountProbabilities, probabilityMonth, type AccountProbabilities } from '../forecast/account-probabilities.js';
import { storedBacktest } from '../playbooks/backtest-cache.js';
import { statePath } from '../playbooks/playbook-settings.js';
import { PlaybookState, type PlayEvent, type Task, type TaskStatus } from '../playbooks/playbook-state.js';
import { cohortTable, type CohortRow } from '../queries/cohort-queries.js';
import { explainAccount, type AccountExplanation } from '../queries/explain-queries.js';
import { movements, type MovementRow } from '../queries/ledger-queries.js';
import type { Metrics } from '../queries/metrics-queries.js';
import { cachedMetricsSeries } from '../queries/metrics-cache.js';
import { monthIndex } from '../engine/months.js';
import { billingRows, type BillingRow } from '../queries/billing-queries.js';
import { buildReport, type Report } from '../report/report-model.js';
import { filteredDiagnostics, type FilteredDiagnostics } from '../report/report-diagnostics.js';
import { ACV_BENCHMARK_BANDS, BENCHMARKS } from '../report/benchmarks.js';
import { dateNotes, type Workspace } from '../workspace/workspace.js';
import { BACKGROUND_SCORE_ACCOUNTS, scoreInRanges } from './background-scores.js';
import { keptOrScored, keptScores, restoreScores, writableScores } from '../accounts/kept-scores.js';
import { ForecastRunner } from './forecast-runner.js';
import type { ForecastAnswer } from './forecast-transfer.js';

/** The table of the dashboard's scores (apart from `account_scores`, which commands on the same workspace replace). */
const DASHBOARD_SCORES = 'dashboard_scores';
/** The scores of a past day the Accounts page asked for (one day at a time; the rows are kept in memory per day). */
const PAST_SCORES = 'dashboard_past_scores';
/** Past days whose scored rows are kept in memory (each holds a row per account). */
const KEPT_PAST_DAYS = 3;
/** One account's scores, while every account's are being computed. */
const ONE_ACCOUNT_SCORES = 'dashboard_account_scores';

/**
 * What the API serves, read from one open workspace. The workspace has one database connection and
 * some answers build tables (the account records), so every read goes through one queue; answers
 * that do not depend on the request's parameters are computed once and kept here. Answers that do
 * (metrics, movements, an account's explanation) are not: the API keeps their JSON text in a cache
 * bounded in bytes (answer-cache.ts).
 */
export interface AccountRow {
  readonly account_id: string;
  readonly name: string | null;
  readonly segment: string | null;
  readonly tier: string;
  readonly arr: Money;
  readonly mrr: Money;
  readonly health: number | null;
  readonly health_colour: string | null;
  readonly churn_risk: number | null;
  readonly risk_reason: string | null;
  readonly expansion_readiness: number | null;
  readonly expansion_reason: string | null;
  readonly renewal_date: string | null;
  readonly days_to_renewal: number | null;
  readonly monthly_terms: boolean;
  readonly csm_owner: string | null;
  readonly am_owner: string | null;
  /** The forecast's 90-day probabilities (fractions, docs/forecast.md); null when it could not be fitted or is not computed yet. */
  readonly churn_probability_90d: number | null;
  readonly expansion_probability_90d: number | null;
}

export interface AccountDetail {
  readonly as_of: string;
  /** Null when it is not a customer on the day (its history is still there). */
  readonly account: AccountRow | null;
  readonly scored: ScoredAccount | null;
  readonly explanation: AccountExplanation;
  readonly tasks: readonly Task[];
}

export interface PlaybooksPage {
  readonly state_file: string;
  readonly config_version: string;
  readonly playbooks: readonly { name: string; description: string | null; when: string; exit: string | null; task_type: string; owner: unknown; notify: readonly string[] }[];
  /** Open tasks per owner and play. */
  readonly by_owner: readonly { owner: string; open: number; overdue: number; by_playbook: Record<string, number> }[];
  readonly recent_events: readonly PlayEvent[];
  readonly outcomes: readonly { playbook: string; done: number; won: number; lost: number; exited: number }[];
}

/** One piece of background work (GET /api/status). */
export interface BackgroundJob {
  readonly job: string;
  readonly what: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly seconds: number;
}

/** What a live workspace tells of its changes (see LiveWorkspace.changedSince). */
export interface ChangeLog {
  readonly changeCount: number;
  changedSince(since: number): readonly string[] | null;
}

/**
 * What the scores table of each database connection holds: the day, and the live workspace's change
 * it is up to date with. The app made after a change finds it there and scores only the accounts
 * changed since, not every account again.
 */
const heldScores = new WeakMap<object, { readonly asOf: string; readonly change: number }>();

/** How long a started server waits before its warm-up (DashboardData.warmUp): the first page's reads come first. */
const WARM_UP_PAUSE_MS = 2_000;

/** More changed accounts than this: every account is scored again (one query is then cheaper). */
const MOST_RESCORED = 10_000;

export class DashboardData {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, Promise<unknown>>();
  private stateCache: { stamp: string; read: Promise<{ tasks: Task[]; events: PlayEvent[] }> } | null = null;
  readonly asOfDate: string;
  /** Every account's scores are in DASHBOARD_SCORES (see scores). */
  private scored = false;

  constructor(
    readonly ws: Workspace,
    /** The live workspace's log of changes, when it follows one: the scores are then computed again only for the accounts that changed. */
    private readonly changes: ChangeLog | null = null,
  ) {
    this.asOfDate = defaultSnapshot(ws);
  }

  /** Runs `f` after every earlier read has finished (every read of the workspace's connection goes through here). */
  serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Resolves once every read asked of the pages' queue has finished, those asked while it waits
   * included: the background scoring awaits it before each range of accounts, so a page's reads,
   * even several in a row, run before the next range rather than beside it.
   */
  async pagesIdle(): Promise<void> {
    for (let seen = this.queue; ; seen = this.queue) {
      await seen;
      if (seen === this.queue) return;
    }
  }

  /** `f`'s answer, computed once per key (a failure is not kept); database work waits its turn. */
  private once<T>(key: string, f: () => Promise<T>, database = true): Promise<T> {
    let hit = this.cache.get(key) as Promise<T> | undefined;
    if (!hit) {
      const job = { asked: Date.now(), finished: null as number | null, failed: false };
      this.jobs.set(key, job);
      hit = database ? this.serial(f) : f();
      this.cache.set(key, hit);
      hit.then(
        () => (job.finished = Date.now()),
        () => {
          job.finished = Date.now();
          job.failed = true;
          this.cache.delete(key);
        },
      );
    }
    return hit;
  }

  /** When each answer computed once was first asked for and when it was done (Date.now()), by key. */
  private readonly jobs = new Map<string, { asked: number; finished: number | null; failed: boolean }>();

  /**
   * The work a page may wait on, and where it stands (GET /api/status): scoring every account, the
   * report (Overview's diagnostics), the backtest, each forecast. `seconds` is how long it has run,
   * or took.
   */
  background(now = Date.now()): BackgroundJob[] {
    const since = (asked: number, finished: number | null) => Math.round(((finished ?? now) - asked) / 100) / 10;
    const named: [string, string][] = [
      ['scores', 'scoring every account (health, churn risk, expansion readiness)'],
      ['report', "the report's diagnostics (24-month trends, groups, concentration, overlaps)"],
      ['diagnostics', "the company's diagnostics (24 months of monthly NRR, groups, concentration, overlaps)"],
      ['backtest', "the playbooks' backtest"],
    ];
    const mine = named.flatMap(([key, what]) => {
      const j = this.jobs.get(key);
      return j ? [{ job: key, what, status: j.finished === null ? ('running' as const) : j.failed ? ('failed' as const) : ('done' as const), seconds: since(j.asked, j.finished) }] : [];
    });
    const forecasts = this.forecasts.jobs().map((f) => ({
      job: `forecast:${f.horizon_days}${f.as_of ? `:${f.as_of}` : ''}${f.where ? `:${filterWords(f.where)}` : ''}`,
      what: `the ${f.horizon_days}-day forecast${f.as_of ? ` as of ${f.as_of}` : ''}${f.where ? ` of the accounts where ${filterWords(f.where)}` : ''} (${f.kind === 'sum' ? "summed from the company's simulation" : 'model rows, fit and simulation'})`,
      status: f.status === 'computing' ? ('running' as const) : f.status === 'ready' ? ('done' as const) : ('failed' as const),
      seconds: since(f.asked, f.finished),
    }));
    return [...mine, ...forecasts];
  }

  summary(): Record<string, unknown> {
    const s = this.ws.summary;
    return {
      as_of_month: s.asOf,
      as_of_date: this.asOfDate,
      today: s.today,
      partial: s.partial,
      latest_date: s.latestDate,
      stale: s.stale,
      date_notes: dateNotes(s),
      first_month: s.firstMonth,
      accounts: s.accounts,
      lines: s.lines,
      currencies: s.currencies,
      reporting_currency: this.ws.policies.reporting_currency,
      products: s.products,
      attributes: this.ws.attributes,
      group_by: ['acv_band', 'product', 'cohort_year', 'cohort_quarter', ...this.ws.attributes.filter((a) => a !== 'name')],
      benchmarks: BENCHMARKS,
      /** The ACV band (below, in the reporting currency a year) that picks each benchmark by default. */
      acv_benchmark_bands: ACV_BENCHMARK_BANDS,
      policies: this.ws.policies,
    };
  }

  /**
   * The report (Overview's diagnostics), computed once, on a connection of its own when the engine
   * has several: at a large company it takes a while, and the pages' reads do not queue behind it.
   */
  report(): Promise<Report> {
    return this.once('report', () => this.onOwnConnection((ws) => buildReport(ws)), false);
  }

  /** The whole company's diagnostics with their counts (GET /api/diagnostics without filters), computed once beside the pages' reads. */
  diagnostics(): Promise<FilteredDiagnostics> {
    return this.once('diagnostics', () => this.onOwnConnection((ws) => filteredDiagnostics(ws, undefined)), false);
  }

  metrics(q: { month?: string; window: number; by?: string; where?: AccountFilter }): Promise<Metrics[]> {
    // Kept beside the store while it is unchanged: a server started again on the same store answers at once.
    return this.serial(() => cachedMetricsSeries(this.ws, { ...q, months: [q.month ? monthIndex(q.month) : this.ws.asOfMonth] }));
  }

  movements(q: { from?: number; to?: number; account?: string; category?: MovementCategory }): Promise<MovementRow[]> {
    return this.serial(() => movements(this.ws, q));
  }

  cohorts(granularity: 'month' | 'quarter' | 'year', where?: AccountFilter, through?: number): Promise<CohortRow[]> {
    if (where !== undefined) return this.serial(() => cohortTable(this.ws, granularity, where, through));
    // On a connection of its own (a read only): a page's other reads do not queue behind it.
    return this.once(`cohorts:${granularity}:${through ?? ''}`, () => this.onOwnConnection((ws) => cohortTable(ws, granularity, undefined, through)), false);
  }

  /**
   * Every account's scores on the day, in a table of their own that rows are read from by key.
   * They are computed beside the other answers, through a connection of their own when the database
   * has several: every account of a large company takes a while, and an account's page does not
   * wait for it (see accountState). After a change of a live workspace, only the accounts it
   * changed are scored again. Scores kept beside the store for this state are read instead.
   */
  private scores(): Promise<void> {
    return this.once(
      'scores',
      async () => {
        if (!(await this.restored())) await this.onOwnConnection((ws) => this.rescore(ws));
        this.scored = true;
      },
      false,
    );
  }

  /**
   * Whether every account's scores were read from those kept beside the store (kept-scores.ts: the
   * store has not changed since a server or `nrr accounts` scored this day): a quick look, which an
   * account's page awaits rather than scoring its account alone.
   */
  private restored(): Promise<boolean> {
    this.restoring ??= this.onOwnConnection(async (ws) => {
      // The change count before the state is read: a change committed meanwhile is scored again after, never missed.
      const change = this.changes?.changeCount ?? null;
      if (!(await restoreScores(ws, await keptScores(ws, this.asOfDate), DASHBOARD_SCORES))) return false;
      // As after scoring every account: the app made after the next change scores only the accounts it changed.
      if (change !== null) heldScores.set(this.ws.driver, { asOf: this.asOfDate, change });
      this.scored = true;
      return true;
    });
    return this.restoring;
  }

  private restoring: Promise<boolean> | null = null;

  /**
   * Runs `f` on a connection of its own when the engine has several: for an answer that is slow and
   * drawn after the rest of its page (the T12M trend), so that the next page's reads do not queue
   * behind it when the reader has moved on.
   */
  aside<T>(f: (ws: Workspace) => Promise<T>): Promise<T> {
    return this.onOwnConnection(f);
  }

  /**
   * Runs `f` on a new connection to the workspace's database, closed after, when the engine has
   * several (the pages' reads do not queue behind it); in the pages' queue otherwise.
   */
  private async onOwnConnection<T>(f: (ws: Workspace) => Promise<T>): Promise<T> {
    const own = this.ws.driver.connect ? await this.ws.driver.connect() : null;
    if (own === null) return this.serial(() => f(this.ws));
    try {
      // The new connection reads the tables by the same names as this one.
      const [at] = await this.serial(() => this.ws.query('SELECT current_database() AS d, current_schema() AS s'));
      await own.exec(`USE ${own.dialect.quoteIdent(String(at!['d']))}.${own.dialect.quoteIdent(String(at!['s']))}`);
      return await f(this.ws.through(own));
    } finally {
      own.close();
    }
  }

  /** The forecasts (GET /api/forecast, the churn probabilities of renewals), computed beside the pages' reads. */
  readonly forecasts = new ForecastRunner((f) => this.onOwnConnection(f));

  /** Scores every account into DASHBOARD_SCORES, or only those changed since the table was made. */
  private async rescore(ws: Workspace): Promise<void> {
    const key = this.ws.driver;
    const change = this.changes?.changeCount ?? null;
    const held = heldScores.get(key);
    const changed = this.changes !== null && held !== undefined && held.asOf === this.asOfDate ? this.changes.changedSince(held.change) : null;
    if (changed !== null && changed.length <= MOST_RESCORED) {
      if (changed.length > 0) {
        await writableScores(ws, DASHBOARD_SCORES);
        await ws.driver.exec('BEGIN TRANSACTION');
        try {
          await ws.driver.exec(`DELETE FROM ${DASHBOARD_SCORES} WHERE ${sqlAccountIn(ws.driver.dialect, 'account_id', { ids: changed })}`);
          await materializeAccountScores(ws, { days: [this.asOfDate], table: DASHBOARD_SCORES, mode: 'insert', accounts: { ids: changed } });
          await ws.driver.exec('COMMIT');
        } catch (e) {
          await ws.driver.exec('ROLLBACK');
          throw e;
        }
      }
    } else {
      // Read from the scores kept beside the store when it has not changed since (a server started
      // again, or `nrr accounts` run on the same day); else in ranges, each after the pages' reads
      // asked meanwhile: an account's page does not wait behind every account.
      await keptOrScored(ws, this.asOfDate, DASHBOARD_SCORES, () =>
        scoreInRanges(ws, { day: this.asOfDate, table: DASHBOARD_SCORES, chunk: BACKGROUND_SCORE_ACCOUNTS, yieldTo: () => this.pagesIdle() }),
      );
    }
    if (change !== null) heldScores.set(key, { asOf: this.asOfDate, change });
  }

  /**
   * Every active account's row once every account is scored, without the forecast's probabilities
   * (null here: withProbabilities adds them when they are there). Not queued itself: it waits on
   * scores(), which is, then reads in its turn. The probabilities are started meanwhile.
   */
  accounts(): Promise<AccountRow[]> {
    return this.once(
      'accounts',
      async () => {
        this.probabilities().catch(() => undefined);
        await this.scores();
        const rows = (await this.serial(() => accountRows(this.ws, this.asOfDate))).map((r) => ({ ...r, ...NO_PROBABILITY }));
        this.accountsReady = rows;
        return rows;
      },
      false,
    );
  }

  /**
   * Every active account's row on a day before the server's (the last day of a past month), scored
   * on that day as `nrr accounts --as-of` scores it; without the forecast's probabilities (they are
   * fitted for the server's day). The server's own day is accounts(). Days are scored one after
   * another, beside the pages' reads.
   */
  accountsOn(day: string): Promise<AccountRow[]> {
    if (day === this.asOfDate) return this.accounts();
    // Each day holds a row per account: only the last few days asked are kept.
    const days = [...this.cache.keys()].filter((k) => k.startsWith('accounts-on:') && k !== `accounts-on:${day}`);
    for (const k of days.slice(0, Math.max(0, days.length - (KEPT_PAST_DAYS - 1)))) this.cache.delete(k);
    return this.once(
      `accounts-on:${day}`,
      () => {
        const next = this.pastScoring.then(() =>
          this.onOwnConnection(async (ws) => {
            await keptOrScored(ws, day, PAST_SCORES, () => scoreInRanges(ws, { day, table: PAST_SCORES, chunk: BACKGROUND_SCORE_ACCOUNTS, yieldTo: () => this.pagesIdle() }));
            return (await accountRows(ws, day, PAST_SCORES)).map((r) => ({ ...r, ...NO_PROBABILITY }));
          }),
        );
        this.pastScoring = next.catch(() => undefined);
        return next;
      },
      false,
    );
  }

  /** The past days' scoring, one day after another (they share PAST_SCORES). */
  private pastScoring: Promise<unknown> = Promise.resolve();

  /**
   * The rows with the forecast's 90-day probabilities when they are there; until then they stay
   * null and `status` says they are being computed (an account without MRR at the month-end, or a
   * model that could not be fitted, has null too, `ready` or `unavailable` with the reason).
   */
  withProbabilities(rows: readonly AccountRow[]): { status: 'computing' | 'ready' | 'unavailable'; note: string | null; rows: AccountRow[] } {
    const p = this.probabilitiesNow;
    if (p === undefined) {
      this.probabilities().catch(() => undefined);
      return { status: 'computing', note: "the forecast's 90-day probabilities are being computed: they follow when it is done", rows: [...rows] };
    }
    if (p === null || p.not_fitted !== null) return { status: 'unavailable', note: p === null ? 'no probabilities: the workspace has no signal files' : `no probabilities: ${p.not_fitted}`, rows: [...rows] };
    return { status: 'ready', note: null, rows: rows.map((r) => ({ ...r, ...(p.accounts.get(r.account_id) ?? NO_PROBABILITY) })) };
  }

  /** The probabilities once computed (null: none can be); undefined before (an account's page does not wait for their fit). */
  private probabilitiesNow: AccountProbabilities | null | undefined = undefined;

  /**
   * The forecast's 90-day probabilities of every account on the day (account-probabilities.ts); null
   * without signal files. On the reporting month's end they are the 90-day forecast's, read from it
   * (the same fit), so they come with it from the background; for another day they are fitted apart.
   */
  private probabilities(): Promise<AccountProbabilities | null> {
    return this.once(
      'probabilities',
      async () => {
        const M = probabilityMonth(this.ws, this.asOfDate);
        const fitted =
          M === this.ws.asOfMonth ? this.forecasts.forecast({ horizonDays: 90 }).then(probabilitiesOf) : this.onOwnConnection((ws) => accountProbabilities(ws, this.asOfDate));
        const p = await fitted.catch((e: unknown) => {
          if (e instanceof NrrError) return null;
          throw e;
        });
        this.probabilitiesNow = p;
        return p;
      },
      false,
    );
  }

  private accountsReady: AccountRow[] | null = null;

  /**
   * The accounts with their scores when every account has been scored; else null, and the scoring
   * is started (it takes minutes at 100,000 accounts): for views that answer at once without scores.
   */
  accountsIfScored(start = true): AccountRow[] | null {
    if (start && this.accountsReady === null) this.accounts().catch(() => undefined);
    return this.accountsReady;
  }

  /**
   * Computes, one after another and each after the pages' reads asked meanwhile, what the pages ask
   * for first and is slow to compute at a large company: every customer's billing row (Tasks,
   * Renewals, Book), the cohort tables by quarter and month, the reporting month's metrics and the
   * prior period's, overall and by segment (Overview, Segments; kept beside the store, so a server
   * started again reads them). Each is then answered from what is kept. Started once, when a server
   * starts: after a live change the pages compute what they ask for (warming every change would
   * keep the machine busy for answers nobody may ask for).
   */
  async warmUp(pause = WARM_UP_PAUSE_MS): Promise<void> {
    const month = this.ws.asOfMonth;
    // Each on a connection of its own: a page's reads asked meanwhile share the machine with it, not a queue.
    const steps: (() => Promise<unknown>)[] = [
      () => this.billing(),
      ...[month, month - 12].flatMap((m) =>
        [undefined, 'segment'].map((by) => () => this.onOwnConnection((ws) => cachedMetricsSeries(ws, { window: 12, ...(by ? { by } : {}), months: [m] }))),
      ),
      () => this.cohorts('quarter', undefined, month),
      () => this.cohorts('month', undefined, month),
    ];
    // The first page, asked as the server starts, comes first.
    await new Promise((r) => setTimeout(r, pause).unref());
    for (const step of steps) {
      await this.pagesIdle();
      // A step that fails is computed again, and says why, when a page asks for it.
      await step().catch(() => undefined);
    }
  }

  /** Every customer's MRR, ARR, renewal date, owner and segment on the day, from the lines alone (fast). */
  billing(): Promise<BillingRow[]> {
    // On a connection of its own (a read only): a page's other reads do not queue behind it.
    return this.once('billing', () => this.onOwnConnection((ws) => billingRows(ws, this.asOfDate)), false);
  }

  /** One account: its row and scores when it is a customer on the day, its MRR history and lines always. */
  async account(id: string): Promise<AccountDetail> {
    const explanation = await this.explanation(id);
    return { ...(await this.accountState(id)), explanation };
  }

  /** An account's MRR history, movements and source lines; an NrrError when it has none. */
  explanation(id: string): Promise<AccountExplanation> {
    return this.serial(() => explainAccount(this.ws, id));
  }

  /** An account's row, scores and tasks on the day: `account` without its explanation. */
  async accountState(id: string): Promise<Omit<AccountDetail, 'explanation'>> {
    // Every account's scores are read from their table once it is there; until then, this account's alone are computed.
    this.scores().catch(() => undefined);
    await this.restored().catch(() => false);
    const key = { date: this.asOfDate, accountId: id, activeOnly: true };
    const [scored = null] = await this.serial(async () => {
      if (this.scored) return readAccountScores(this.ws, { ...key, table: DASHBOARD_SCORES });
      await materializeAccountScores(this.ws, { days: [this.asOfDate], table: ONE_ACCOUNT_SCORES, accounts: { ids: [id] } });
      return readAccountScores(this.ws, { ...key, table: ONE_ACCOUNT_SCORES });
    });
    // The probabilities once fitted; the first page asked for starts their fit and shows none meanwhile.
    const p = this.probabilitiesNow !== undefined ? this.probabilitiesNow : (this.probabilities().catch(() => undefined), null);
    const account = scored ? { ...accountRow(scored), ...(p?.accounts.get(id) ?? NO_PROBABILITY) } : null;
    return { as_of: this.asOfDate, account, scored, tasks: await this.tasks({ account: id }) };
  }

  /** Tasks from the play state; none before the first `nrr playbooks run`. */
  async tasks(filter: { owner?: string; status?: TaskStatus; playbook?: string; account?: string } = {}): Promise<Task[]> {
    const { tasks } = await this.state();
    const owner = filter.owner?.toLowerCase();
    return tasks.filter(
      (t) =>
        (!owner || t.owner.toLowerCase() === owner) &&
        (!filter.status || t.status === filter.status) &&
        (!filter.playbook || t.playbook === filter.playbook) &&
        (!filter.account || t.account_id === filter.account),
    );
  }

  async playbooks(): Promise<PlaybooksPage> {
    const sc = this.ws.scoring;
    const base = {
      state_file: statePath(this.ws.dataDir, sc.playbookSettings),
      config_version: sc.playbookVersion,
      playbooks: sc.playbooks.map((p) => ({
        name: p.name,
        description: p.description ?? null,
        when: p.when,
        exit: p.exit ?? null,
        task_type: p.task.type,
        owner: p.task.owner,
        notify: p.notify,
      })),
    };
    return this.state().then(
      ({ tasks: all, events }) => {
        const owners = new Map<string, { owner: string; open: number; overdue: number; by_playbook: Record<string, number> }>();
        for (const t of all.filter((x) => x.status === 'open')) {
          const o = owners.get(t.owner) ?? { owner: t.owner, open: 0, overdue: 0, by_playbook: {} };
          o.open++;
          if (t.due_date < this.asOfDate) o.overdue++;
          o.by_playbook[t.playbook] = (o.by_playbook[t.playbook] ?? 0) + 1;
          owners.set(t.owner, o);
        }
        const outcomes = sc.playbooks.map((p) => {
          const mine = all.filter((t) => t.playbook === p.name);
          return {
            playbook: p.name,
            done: mine.filter((t) => t.status === 'done').length,
            won: mine.filter((t) => t.outcome === 'won').length,
            lost: mine.filter((t) => t.outcome === 'lost').length,
            exited: mine.filter((t) => t.status === 'exited').length,
          };
        });
        return {
          ...base,
          by_owner: [...owners.values()].sort((a, b) => b.open - a.open || a.owner.localeCompare(b.owner)),
          recent_events: events,
          outcomes,
        };
      },
    );
  }

  /**
   * Each account's probability of churning in the next 90 days, from the forecast (docs/forecast.md).
   * The forecast takes a while on a large company, so the first call starts it in the background
   * (ForecastRunner) and answers `computing`; later calls answer `ready` with the probabilities, or
   * `unavailable` with the reason (too little history, no signal files).
   */
  churnProbabilities(start = true): { status: 'computing' | 'ready' | 'unavailable'; note: string | null; probabilities: Map<string, number> | null } {
    const s = this.forecasts.state({ horizonDays: 90 }, start) ?? { status: 'computing' };
    if (s.status === 'computing') return { status: 'computing', note: 'the 90-day forecast is being computed: churn probabilities follow when it is done', probabilities: null };
    if (s.status === 'unavailable') return { status: 'unavailable', note: `no churn probabilities: ${s.error.message.split('\n')[0]}`, probabilities: null };
    return { status: 'ready', note: `churn probabilities from the 90-day forecast as of ${s.answer.as_of}`, probabilities: new Map([...s.answer.probabilities].map(([id, [churn]]) => [id, churn])) };
  }

  /**
   * The default backtest as JSON text: kept beside the store and read from there while the data,
   * the plays and the day are what they were (backtest-cache.ts), replayed otherwise.
   */
  backtestText(): Promise<string> {
    return this.once('backtest', async () => (await storedBacktest(this.ws)).text);
  }

  /** The play state file's size and time (and its log's): what changes when a play runs or a task is acted on. */
  playStateStamp(): string {
    const path = statePath(this.ws.dataDir, this.ws.scoring.playbookSettings);
    return [path, `${path}.wal`].map((f) => (existsSync(f) ? `${statSync(f).mtimeMs}:${statSync(f).size}` : '-')).join('|');
  }

  /**
   * Tasks and recent entries and exits, read again only when the state file has changed (the CLI
   * may run plays or close tasks while the server runs); the file is open only while it is read.
   */
  private async state(): Promise<{ tasks: Task[]; events: PlayEvent[] }> {
    const path = statePath(this.ws.dataDir, this.ws.scoring.playbookSettings);
    const stamp = this.playStateStamp();
    if (this.stateCache?.stamp !== stamp) {
      const read = (async () => {
        if (!existsSync(path)) return { tasks: [], events: [] };
        const s = await PlaybookState.open(path, { readOnly: true });
        try {
          const events = (await s.events({ limit: 1000 })).filter((e) => e.kind !== 'held').slice(0, 200).map((e) => ({ ...e, payload: null }));
          return { tasks: await s.tasks(), events };
        } finally {
          s.close();
        }
      })();
      this.stateCache = { stamp, read };
      read.catch(() => (this.stateCache = null));
    }
    return this.stateCache.read;
  }
}

/** Every active account's row on the day, read from the dashboard's scores: the columns a row shows, not whole records. */
async function accountRows(ws: Workspace, date: string, table = DASHBOARD_SCORES): Promise<Omit<AccountRow, 'churn_probability_90d' | 'expansion_probability_90d'>[]> {
  const rows = await readScoreColumns(
    ws,
    ['account_id', 'tier', 'arr', 'mrr', 'health_score', 'health_colour', 'churn_risk', 'risk_not_scored', 'expansion_readiness', 'expansion_not_scored', 'renewal_date', 'days_to_renewal', 'monthly_terms'],
    {
      table,
      date,
      activeOnly: true,
      attributes: ws.attributes.filter((a) => ['name', 'segment', 'csm_owner', 'csm', 'owner', 'am_owner'].includes(a)),
      extra: { risk_top: 's.risk_reasons[1].text', expansion_top: 's.expansion_reasons[1].text' },
    },
  );
  const orNull = (x: unknown): string | null => (x === null || x === undefined ? null : String(x));
  const numberOrNull = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));
  const reason = (notScored: unknown, top: unknown): string | null => (notScored !== null && notScored !== undefined ? `not scored: ${String(notScored)}` : orNull(top));
  return rows.map(({ row: r, attributes: a }) => ({
    account_id: String(r['account_id']),
    name: a['name'] ?? null,
    segment: a['segment'] ?? null,
    tier: String(r['tier']),
    arr: Money.from(r['arr']),
    mrr: Money.from(r['mrr']),
    health: numberOrNull(r['health_score']),
    health_colour: orNull(r['health_colour']),
    churn_risk: numberOrNull(r['churn_risk']),
    risk_reason: reason(r['risk_not_scored'], r['risk_top']),
    expansion_readiness: numberOrNull(r['expansion_readiness']),
    expansion_reason: reason(r['expansion_not_scored'], r['expansion_top']),
    renewal_date: orNull(r['renewal_date']),
    days_to_renewal: numberOrNull(r['days_to_renewal']),
    monthly_terms: r['monthly_terms'] === true,
    csm_owner: a['csm_owner'] ?? a['csm'] ?? a['owner'] ?? null,
    am_owner: a['am_owner'] ?? null,
  }));
}

function accountRow(s: ScoredAccount): Omit<AccountRow, 'churn_probability_90d' | 'expansion_probability_90d'> {
  const r = s.record;
  const a = r.attributes;
  return {
    account_id: r.account_id,
    name: a['name'] ?? null,
    segment: a['segment'] ?? null,
    tier: s.tier,
    arr: r.arr,
    mrr: r.mrr,
    health: s.health.score,
    health_colour: s.health.colour,
    churn_risk: s.risk.score,
    risk_reason: s.risk.not_scored ? `not scored: ${s.risk.not_scored}` : (s.risk.reasons[0]?.text ?? null),
    expansion_readiness: s.expansion.score,
    expansion_reason: s.expansion.not_scored ? `not scored: ${s.expansion.not_scored}` : (s.expansion.reasons[0]?.text ?? null),
    renewal_date: r.renewal_date,
    days_to_renewal: r.days_to_renewal,
    monthly_terms: r.monthly_terms,
    csm_owner: a['csm_owner'] ?? a['csm'] ?? a['owner'] ?? null,
    am_owner: a['am_owner'] ?? null,
  };
}

/**
 * The 90-day forecast's probabilities as account-probabilities.ts gives them: only from the hazard
 * model (null for every account, with the reason, when the history was too thin for it).
 */
function probabilitiesOf(f: ForecastAnswer): AccountProbabilities {
  if (f.method !== 'hazard_model')
    return {
      as_of: f.as_of,
      method: f.method,
      not_fitted:
        `thin history (${f.training.months} months, ${f.training.churn} churn events; ` +
        `the model needs ${MIN_TRAINING_MONTHS} months and ${MIN_CHURN_EVENTS} churn events); \`nrr forecast\` shows segment × time-to-renewal rates instead`,
      accounts: new Map(),
    };
  return { as_of: f.as_of, method: f.method, not_fitted: null, accounts: new Map([...f.probabilities].map(([id, [churn, expansion]]) => [id, { churn_probability_90d: churn, expansion_probability_90d: expansion }])) };
}
