// The shapes of the API answers the pages read (docs/api.md; /api/openapi.json). Money is exact
// decimal text (`Money`), counts are integers, probabilities and ratios are fractions.

/** Exact decimal text, e.g. "1234567.123456789012". Never a JavaScript number. */
export type Money = string;

export interface Benchmark {
  readonly key: string;
  readonly label: string;
  readonly median: readonly [number, number];
  readonly topQuartile: readonly [number, number];
}

export interface Summary {
  readonly as_of_month: string;
  readonly as_of_date: string;
  readonly partial: boolean;
  readonly date_notes: readonly string[];
  readonly first_month: string;
  readonly accounts: number;
  readonly reporting_currency: string;
  readonly attributes: readonly string[];
  readonly group_by: readonly string[];
  readonly benchmarks: readonly Benchmark[];
  readonly acv_benchmark_bands: readonly { readonly below: number | null; readonly key: string }[];
  readonly policies: { readonly min_group_accounts?: number; readonly usage?: string };
}

/** GET /api/attributes: the attributes that can filter and group (categorical only). */
export interface Attribute {
  readonly name: string;
  readonly kind: string;
  readonly values: readonly { readonly value: string; readonly accounts: number }[];
}

/** GET /api/series: one month of company MRR and its bridge. */
export interface SeriesRow {
  readonly month: string;
  readonly mrr: Money;
  readonly arr: Money;
  readonly customers: number;
  readonly new: Money;
  readonly expansion: Money;
  readonly reactivation: Money;
  readonly contraction: Money;
  readonly churn: Money;
  readonly net_new: Money;
}

export const MOVEMENT_KEYS = ['new', 'expansion', 'reactivation', 'contraction', 'churn'] as const;
export type MovementKey = (typeof MOVEMENT_KEYS)[number];

/** GET /api/metrics: NRR and its parts for a window (and a group with `by`). */
export interface Metrics {
  readonly group?: string;
  readonly month: string;
  readonly window: number;
  readonly starting_accounts: number;
  readonly retained_accounts: number;
  readonly starting_mrr: Money;
  readonly ending_mrr: Money;
  readonly expansion: Money;
  readonly contraction: Money;
  readonly churn: Money;
  readonly fx?: Money;
  readonly nrr: number | null;
  readonly grr: number | null;
  readonly logo_retention: number | null;
  readonly median_acv: Money | null;
  readonly small_group?: boolean;
  readonly nrr_plausible?: boolean;
  readonly overlap_lines?: number;
  readonly overlap_mrr?: Money;
  readonly largest_account_share?: number | null;
}

export interface ReportSeriesPoint {
  readonly month: string;
  readonly t12m_nrr: number | null;
  readonly t12m_grr: number | null;
  readonly monthly_nrr: number | null;
  readonly monthly_grr?: number | null;
}

/** GET /api/trend: T12M and monthly NRR/GRR of one month, with the starting accounts behind each rate. */
export interface TrendPoint {
  readonly month: string;
  readonly t12m_nrr: number | null;
  readonly t12m_grr: number | null;
  readonly t12m_starting_accounts: number;
  readonly monthly_nrr: number | null;
  readonly monthly_grr: number | null;
  readonly monthly_starting_accounts: number;
}

export interface Report {
  readonly series: readonly ReportSeriesPoint[];
  readonly diagnostics: readonly { readonly severity: string; readonly message: string }[];
}

/** GET /api/movements rows: one account's movement in a month. */
export interface MovementRow {
  readonly account_id: string;
  readonly month: string;
  readonly category: string;
  readonly amount?: Money;
  readonly delta?: Money;
  readonly mrr_before: Money;
  readonly mrr_after: Money;
  readonly [attribute: string]: unknown;
}

/** A category's movements in a period: signed sum (contraction and churn negative), distinct accounts, movements. */
export interface MovementTotal {
  readonly amount: Money;
  readonly accounts: number;
  readonly movements: number;
}

/** Every category's totals in a period and net new (their sum; accounts with any movement). */
export type MovementTotals = Record<MovementKey, MovementTotal> & { readonly net_new: MovementTotal & { readonly customers: number } };

/** GET /api/movements: the rows of a period, its totals, and with compare=1 the prior period's. */
export interface MovementsAnswer extends Page<MovementRow> {
  readonly from: string;
  readonly to: string;
  readonly totals: MovementTotals;
  readonly prior?: { readonly from: string; readonly to: string; readonly starts_before_data: boolean; readonly totals: MovementTotals } | null;
}

export interface CohortRow {
  readonly cohort: string;
  readonly accounts: number;
  readonly starting_mrr: Money;
  readonly retention: readonly (number | null)[];
  readonly small_group?: boolean;
}

export interface AccountRow {
  readonly account_id: string;
  readonly name: string | null;
  readonly tier: string | null;
  readonly segment?: string | null;
  readonly arr: Money;
  readonly mrr?: Money;
  readonly health: number | null;
  readonly health_colour: string | null;
  readonly churn_risk: number | null;
  readonly risk_reason: string | null;
  readonly expansion_readiness: number | null;
  readonly expansion_reason?: string | null;
  readonly renewal_date: string | null;
  readonly monthly_terms?: boolean;
  readonly days_to_renewal: number | null;
  readonly csm_owner: string | null;
  readonly am_owner: string | null;
}

export interface Page<T> {
  readonly total: number;
  readonly rows: readonly T[];
}

/** GET /api/accounts: a page of the accounts with revenue on `as_of`. */
export interface AccountsPage extends Page<AccountRow> {
  readonly as_of: string;
}

export interface Task {
  readonly id?: number;
  readonly task_id?: number;
  readonly account_id: string;
  readonly play?: string;
  readonly playbook?: string;
  readonly owner: string;
  readonly due?: string;
  readonly due_date?: string;
  readonly opened_on?: string;
  readonly status: string;
  readonly overdue?: boolean;
  readonly outcome?: string | null;
  readonly snoozed_until?: string | null;
  readonly notes?: string | null | readonly (string | { readonly text: string; readonly on?: string; readonly at?: string })[];
}

export interface RenewalRow {
  readonly account_id: string;
  readonly name?: string | null;
  readonly renewal_date: string;
  readonly arr: Money;
  readonly owner: string | null;
  readonly segment: string | null;
  readonly risk: number | null;
  readonly health: number | string | null;
  readonly churn_probability_90d: number | null;
  /** At risk by the server's rule (at_risk_rule: health red, or churn risk 50 or more). */
  readonly at_risk?: boolean;
  /** ARR of the account when it is at risk, else 0. */
  readonly arr_at_risk: Money;
  /** ARR × the 90-day churn probability, to the cent; null without a forecast. */
  readonly expected_arr_loss?: Money | null;
  readonly health_colour?: string | null;
  readonly days_to_renewal?: number | null;
}

export interface Renewals {
  readonly as_of?: string;
  readonly from: string;
  readonly to: string;
  readonly forecast?: { readonly status: string; readonly note?: string };
  readonly scores?: ScoresStatus;
  readonly at_risk_rule?: string;
  readonly total: number;
  readonly by_month?: readonly { month: string; accounts: number; arr: Money; at_risk_accounts: number; arr_at_risk: Money; expected_arr_loss: Money | null }[];
  /** With compare=1: the prior period's renewals as the book stood that many months earlier; null before the data. */
  readonly prior?: { readonly from: string; readonly to: string; readonly as_of: string; readonly accounts: number; readonly arr: Money } | null;
  readonly rows: readonly RenewalRow[];
}

export interface BookRow {
  readonly owner: string;
  readonly accounts: number;
  readonly arr: Money;
  readonly arr_at_risk: Money;
  readonly open_tasks: number;
  readonly overdue_tasks: number;
  readonly renewals_90d: number;
  readonly renewals_90d_arr?: Money;
  readonly at_risk_accounts?: number;
  /** Churn and expansion of the owner's accounts in the answer's period (from…to). */
  readonly churned_accounts: number;
  readonly churned_mrr: Money;
  readonly expanded_accounts: number;
  readonly expansion_mrr: Money;
}

/** GET /api/book: the owners' books as of `as_of`, their churn and expansion in from…to. */
export interface Book {
  readonly as_of: string;
  readonly from: string;
  readonly to: string;
  readonly scores?: ScoresStatus;
  readonly at_risk_rule?: string;
  readonly total: number;
  readonly rows: readonly BookRow[];
}

export interface TimelineEvent {
  readonly date: string;
  readonly kind: string;
  readonly title: string;
  readonly detail: string | null;
  /** The file and row the event was read from (null for derived events, e.g. revenue movements). */
  readonly file?: string | null;
  readonly row?: number | null;
}

export interface HistoryPoint {
  readonly month: string;
  readonly mrr?: Money | null;
  readonly health?: number | null;
  readonly risk?: number | null;
  readonly seats?: number | null;
  readonly seats_purchased?: number | null;
  readonly usage?: number | null;
  readonly [key: string]: unknown;
}

export interface ForecastFigures {
  readonly account_count: number;
  readonly starting_mrr: Money;
  readonly committed_mrr: Money;
  readonly nrr: { readonly p10: number | null; readonly p50: number | null; readonly p90: number | null };
  readonly grr: { readonly p10: number | null; readonly p50: number | null; readonly p90: number | null };
  readonly ending_mrr: { readonly p10: Money; readonly p50: Money; readonly p90: Money };
}

export interface AccountForecast {
  readonly account_id: string;
  readonly churn_probability: number;
  readonly contraction_probability: number;
  readonly expansion_probability: number;
  readonly reasons: readonly string[];
  readonly expansion_reasons: readonly string[];
}

/** GET /api/forecast/accounts/:id: one account's entry of the company forecast; null without MRR at T. */
export interface AccountForecastAnswer {
  readonly as_of: string;
  readonly method: string;
  readonly horizon_days: number;
  readonly account: AccountForecast | null;
}

export interface Forecast extends ForecastFigures {
  readonly as_of: string;
  readonly through: string;
  readonly horizon_days: number;
  readonly method: string;
  readonly notes: readonly string[];
  /** With filters: the accounts the figures are of (the model is fitted on the whole company). */
  readonly filter?: { readonly where: Readonly<Record<string, string>>; readonly accounts: number; readonly company_accounts: number; readonly note: string };
  /** Absent when asked for with accounts=none. */
  readonly accounts?: readonly AccountForecast[];
}

/** GET /api/diagnostics: the report's diagnostics of the company or of the accounts the filters keep. */
export interface Diagnostics {
  readonly as_of: string;
  readonly where: Readonly<Record<string, string>> | null;
  readonly accounts: number;
  readonly starting_accounts: number;
  readonly retained_accounts: number;
  readonly thin: boolean;
  readonly min_group_accounts: number;
  readonly diagnostics: readonly { readonly id: string; readonly severity: string; readonly message: string; readonly scope: 'filtered' | 'company' }[];
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/** GET /api/status: one piece of the server's background work. */
export interface BackgroundJob {
  readonly job: string;
  readonly what: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly seconds: number;
}

/**
 * The `scores` part of a Renewals or Book answer: every account's scores ready, still being
 * computed, or not computed (a Book of a past month: its note says how to get them).
 */
export interface ScoresStatus {
  readonly status: 'ready' | 'computing' | 'unscored';
  readonly note: string | null;
}
