import type { SignalSourceName } from '../contract/signal-contract.js';
import type { Row } from '../drivers/driver.js';
import { monthEnd, monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { MEASURES, type HealthConfig, type MeasureName } from '../health/health-config.js';
import { compareHealth, scoreHealth, type HealthChange, type HealthScore } from '../health/health-score.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { sqlAccountRecords } from './account-record-sql.js';
import { EXPANSION_SOURCES, NO_SIGNAL_DATA, RISK_SOURCES, churnRisk, expansionReadiness, scoreIfSignals, type ScoreInputs, type Scored } from './risk-scores.js';
import { tierOf } from './tiering.js';
import { MEASURE_SOURCES } from './measure-sources.js';
import { ACCOUNT_SCORES, materializeAccountScores, readAccountScores } from './account-scores.js';
import { keptOrScored, keptScores, restoreScores } from './kept-scores.js';

/** One account as of a date: billing joined with every signal (see account-record-sql.ts). */
export interface AccountRecord extends ScoreInputs {
  readonly snapshot_date: string;
  readonly account_id: string;
  readonly attributes: Readonly<Record<string, string | null>>;
  readonly mrr: Money;
  readonly arr: Money;
  readonly active: boolean;
  readonly customer_since: string | null;
  readonly products: readonly string[];
  readonly renewal_date: string | null;
  readonly monthly_terms: boolean;
  readonly last_movement: string | null;
  readonly last_movement_month: string | null;
  readonly seats_purchased: number | null;
  readonly seats_active: number | null;
  readonly users_30d: number | null;
  readonly users_90d: number | null;
  readonly feature_breadth: number | null;
  readonly days_to_first_value: number | null;
  readonly reviews_held_12m: number | null;
  readonly reviews_due_12m: number | null;
  readonly qbr_completion_12m: number | null;
  readonly sponsor_changes_12m: number | null;
  readonly tickets_90d: number | null;
  readonly ticket_trend_90d: number | null;
  readonly open_tickets: number | null;
  readonly days_since_escalation: number | null;
  readonly headcount: number | null;
  readonly last_funding_amount: Money | null;
  readonly open_expansion_pipeline: Money;
  /** The health score's measures, by name. */
  readonly measures: Readonly<Record<MeasureName, number | null>>;
  /** The signal files with rows of this account known on the day (within the windows the record reads). */
  readonly signal_sources: readonly SignalSourceName[];
}


export interface ScoredAccount {
  readonly record: AccountRecord;
  readonly tier: string;
  readonly health: HealthScore;
  /** Against the snapshot `compare_days` earlier; null when the account had no record then, or is not scored then or now. */
  readonly change: HealthChange | null;
  readonly risk: Scored;
  readonly expansion: Scored;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A row of `account_records` (or of the scores table) as a record; `attributes` are the account's. */
export function toRecord(row: Row, attributes: Readonly<Record<string, string | null>>): AccountRecord {
  const base = {
    snapshot_date: String(row['snapshot_date']),
    account_id: String(row['account_id']),
    attributes,
    mrr: Money.from(row['mrr']),
    arr: Money.from(row['arr']),
    active: row['active'] === true,
    customer_since: text(row['customer_since']),
    products: (row['products'] as string[] | null) ?? [],
    renewal_date: text(row['renewal_date']),
    monthly_terms: row['monthly_terms'] === true,
    last_movement: text(row['last_movement']),
    last_movement_month: row['last_movement_month'] === null ? null : monthText(Number(row['last_movement_month'])),
    seats_purchased: num(row['seats_purchased']),
    seats_active: num(row['seats_active']),
    seat_utilisation: num(row['seat_utilisation']),
    months_above_80: num(row['months_above_80']),
    users_30d: num(row['users_30d']),
    users_90d: num(row['users_90d']),
    usage_trend_90d: num(row['usage_trend_90d']),
    usage_trend_30d: num(row['usage_trend_30d']),
    feature_breadth: num(row['feature_breadth']),
    adjacent_users_30d: num(row['adjacent_users_30d']),
    activation_achieved: num(row['activation_achieved']),
    activation_due: text(row['activation_due']),
    days_to_first_value: num(row['days_to_first_value']),
    reviews_held_12m: num(row['reviews_held_12m']),
    reviews_due_12m: num(row['reviews_due_12m']),
    reviews_missed_180d: num(row['reviews_missed_180d']),
    qbr_completion_12m: num(row['qbr_completion_12m']),
    sponsor_present: row['sponsor_present'] === true,
    days_since_sponsor_engaged: num(row['days_since_sponsor_engaged']),
    days_since_sponsor_left: num(row['days_since_sponsor_left']),
    sponsor_changes_12m: num(row['sponsor_changes_12m']),
    tickets_90d: num(row['tickets_90d']),
    escalations_90d: num(row['escalations_90d']),
    ticket_trend_90d: num(row['ticket_trend_90d']),
    open_tickets: num(row['open_tickets']),
    days_since_escalation: num(row['days_since_escalation']),
    headcount: num(row['headcount']),
    headcount_change_12m: num(row['headcount_change_12m']),
    last_funding_round: text(row['last_funding_round']),
    last_funding_amount: row['last_funding_amount'] === null ? null : Money.from(row['last_funding_amount']),
    days_since_funding: num(row['days_since_funding']),
    open_expansion_pipeline: Money.from(row['open_expansion_pipeline']),
    open_expansion_opportunities: Number(row['open_expansion_opportunities'] ?? 0),
    mrr_change_90d: num(row['mrr_change_90d']),
    days_to_renewal: num(row['days_to_renewal']),
    signal_sources: (row['signal_sources'] as SignalSourceName[] | null) ?? [],
  };
  const measures = Object.fromEntries(
    (Object.keys(MEASURES) as MeasureName[]).map((m) => [m, (base as unknown as Record<string, unknown>)[m] as number | null]),
  ) as Record<MeasureName, number | null>;
  return { ...base, measures };
}

/** A date as YYYY-MM-DD, or the last day of a YYYY-MM month. */
export function snapshotDate(asOf: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(asOf) && !Number.isNaN(Date.parse(asOf))) return asOf;
  const m = /^(\d{4})-(\d{2})$/.exec(asOf);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) return monthEnd(monthIndex(asOf));
  throw new NrrError(`not a date: '${asOf}' (expected YYYY-MM-DD, or YYYY-MM for the month's last day)`);
}

/** The default snapshot of live views: today, or the day pinned by --as-of / the end of a pinned as_of month. */
export function defaultSnapshot(ws: Workspace): string {
  return ws.dates.liveDate;
}

/**
 * Builds the `account_records` table for the given dates (YYYY-MM-DD), from what was known on each.
 * The workspace must be opened with `signals: true`.
 */
export async function buildAccountRecords(ws: Workspace, dates: readonly string[]): Promise<void> {
  const [t] = await ws.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'signal_seats'`);
  if (Number(t!['n']) === 0) throw new NrrError('account records need the signal files: open the workspace with signals: true');
  const d = ws.driver.dialect;
  await ws.driver.exec(
    `CREATE OR REPLACE TABLE record_snapshots AS SELECT CAST(x AS DATE) AS snapshot_date FROM (VALUES ${dates.map((x) => `(${d.quoteString(snapshotDate(x))})`).join(', ')}) v(x)`,
  );
  await ws.driver.exec(sqlAccountRecords(d, ws.attributes, ws.policies.reporting_currency));
}

/** The signal files that have rows (a file with its header only has none). */
export async function signalFilesWithRows(ws: Workspace): Promise<Set<SignalSourceName>> {
  const found = new Set<SignalSourceName>();
  for (const source of ws.signalSources) {
    const [r] = await ws.query(`SELECT EXISTS (SELECT 1 FROM signal_${source}) AS any`);
    if (r!['any'] === true) found.add(source);
  }
  return found;
}

/** Reads records from `account_records` (built by `buildAccountRecords`). */
export async function readAccountRecords(
  ws: Workspace,
  options: { date?: string; accountId?: string; activeOnly?: boolean } = {},
): Promise<AccountRecord[]> {
  const d = ws.driver.dialect;
  const where = [
    ...(options.date === undefined ? [] : [`snapshot_date = CAST(${d.quoteString(options.date)} AS DATE)`]),
    ...(options.accountId === undefined ? [] : [`account_id = ${d.quoteString(options.accountId)}`]),
    ...(options.activeOnly ? ['active'] : []),
  ];
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const rows = await ws.query(`SELECT * FROM account_records ${filter} ORDER BY snapshot_date, account_id`);
  return rows.map((r) => toRecord(r, Object.fromEntries(ws.attributes.map((a) => [a, text(r[a])]))));
}

/**
 * Account records as of each date (YYYY-MM-DD), from what was known on that date.
 * The workspace must be opened with `signals: true`.
 * @example const recs = await accountRecords(ws, ['2026-06-30']);
 */
export async function accountRecords(
  ws: Workspace,
  dates: readonly string[],
  options: { accountId?: string; activeOnly?: boolean } = {},
): Promise<AccountRecord[]> {
  await buildAccountRecords(ws, dates);
  return readAccountRecords(ws, options);
}

/**
 * Health of a record, or "not scored: no signal data" (score and colour null) when none of the
 * measures the definition scores has data of the account's own: a known zero (no ticket in a tickets
 * file that has rows) or a `missing_value` alone does not make a score.
 */
function healthOf(record: AccountRecord, config: HealthConfig, segment: string | null): HealthScore {
  const h = scoreHealth(record.measures, config, segment);
  const own = h.measures.some((m) => {
    const source = MEASURE_SOURCES[m.measure];
    return m.value !== null && (source === 'billing' || record.signal_sources.includes(source));
  });
  return own ? h : { ...h, score: null, colour: null, not_scored: NO_SIGNAL_DATA };
}

/**
 * Scores records: tier, health (with its change since `previous`), churn risk, expansion readiness.
 * An account with no signal data of its own is not scored ("not scored: no signal data"), never
 * scored 0; its tier then follows ARR alone.
 */
export function scoreRecords(ws: Workspace, records: readonly AccountRecord[], previous: readonly AccountRecord[] = []): ScoredAccount[] {
  const { health, tiers } = ws.scoring;
  const segmentOf = (r: AccountRecord): string | null => r.attributes[health.segment_attribute] ?? null;
  const before = new Map(previous.map((p) => [p.account_id, healthOf(p, health, segmentOf(p))]));
  return records.map((record) => {
    const h = healthOf(record, health, segmentOf(record));
    const expansion: Scored = scoreIfSignals(record.signal_sources, EXPANSION_SOURCES, () => expansionReadiness(record));
    const prev = before.get(record.account_id);
    return {
      record,
      tier: tierOf(tiers, record.arr.toNumber(), expansion.score ?? 0),
      health: h,
      change: prev && !prev.not_scored && !h.not_scored ? compareHealth(prev, h) : null,
      risk: scoreIfSignals(record.signal_sources, RISK_SOURCES, () => churnRisk(record)),
      expansion,
    };
  });
}

/**
 * Every account's record and scores as of a date (default: the workspace's live date, see `defaultSnapshot`), with
 * the health change since `compare_days` before; computed in SQL (account-scores.ts), for one account only when
 * `accountId` is given.
 */
export async function scoreAccounts(ws: Workspace, options: { asOf?: string; accountId?: string; includeInactive?: boolean } = {}): Promise<ScoredAccount[]> {
  const date = options.asOf ? snapshotDate(options.asOf) : defaultSnapshot(ws);
  // Scores kept beside the store for the day (kept-scores.ts) are read, not computed again.
  const id = options.accountId;
  if (id === undefined) await keptOrScored(ws, date, ACCOUNT_SCORES, () => materializeAccountScores(ws, { days: [date] }));
  else if (!(await restoreScores(ws, await keptScores(ws, date), ACCOUNT_SCORES, [id]))) await materializeAccountScores(ws, { days: [date], accounts: { ids: [id] } });
  return readAccountScores(ws, { date, accountId: options.accountId, activeOnly: !options.includeInactive });
}
