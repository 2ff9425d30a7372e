import type { Row } from '../drivers/driver.js';
import type { MeasureName } from '../health/health-config.js';
import type { Band, Colour, HealthChange, HealthScore, MeasureScore } from '../health/health-score.js';
import { NrrError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';
import { sqlAccountRecordsQuery, type AccountSet } from './account-record-sql.js';
import { snapshotDate, toRecord, type ScoredAccount } from './account-records.js';
import { sqlScoresSelect } from './account-scores-sql.js';
import { dropView, writableScores } from './kept-scores.js';
import type { Reason, Scored } from './risk-scores.js';

/**
 * Account scores materialised per snapshot day, in SQL: one query computes the records and every
 * score of all the days asked, and writes them to a table; readers read rows by key. JavaScript only
 * turns a row into the objects shown (`ScoredAccount`).
 *
 * The table has one row per account × snapshot day with revenue lines started by then, and these
 * columns (attributes of `accounts` are not copied: readers join them):
 * - the record: every column of `account_records` (docs/health.md, The account record) but the
 *   attributes — snapshot_date, account_id, mrr, arr, active, customer_since, products, …, signal_sources;
 * - tier VARCHAR, tier_number INTEGER (1-based position of the tier in the config);
 * - health_score DOUBLE (null when not scored or every measure missing), health_colour VARCHAR,
 *   health_definition VARCHAR ('default' or the segment), health_not_scored VARCHAR ('no signal data'),
 *   health_measures STRUCT(measure, "group", value, scored, band, points, weight)[] in the
 *   definition's order, health_missing VARCHAR[], health_groups STRUCT("group", points, weight)[],
 *   health_weight DOUBLE (the weight scored);
 * - churn_risk DOUBLE, risk_level VARCHAR, risk_reasons STRUCT(points DOUBLE, text VARCHAR)[] (largest
 *   first), risk_note VARCHAR, risk_not_scored VARCHAR; the same for expansion_readiness,
 *   expansion_level, expansion_reasons, expansion_not_scored (it has no note);
 * - has_health_change BOOLEAN, health_change_from DOUBLE, health_change DOUBLE (the delta),
 *   health_change_movers STRUCT(measure, "from", "to", delta)[]: against the account's active row
 *   `compare_days` before (computed in the same query; false/null with `change: false`).
 */
export const ACCOUNT_SCORES = 'account_scores';

export interface MaterializeScores {
  /** Snapshot days, YYYY-MM-DD (or YYYY-MM for the month's last day): all computed in one query. */
  readonly days: readonly string[];
  /** A table or view with an `account_id` column, a list of ids or a range of them: only these accounts (null or absent: every account). */
  readonly accounts?: AccountSet | null;
  /** The table written (default `account_scores`). */
  readonly table?: string;
  /** 'replace' (default) creates or replaces the table; 'insert' appends to an existing one, by column name. */
  readonly mode?: 'replace' | 'insert';
  /** Fill the health change against `compare_days` earlier (default true); the earlier days are computed too, not written. */
  readonly change?: boolean;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
function relationName(name: string, what: string): string {
  if (!IDENT.test(name)) throw new NrrError(`${what}: expected a table or view name (letters, digits, _), got '${name}'`);
  return name;
}

const minusDays = (date: string, days: number): string => new Date(Date.parse(date) - days * 86_400_000).toISOString().slice(0, 10);

/**
 * Computes the records and scores of `days` (restricted to `accounts`) and writes them to `table`.
 * The workspace must be opened with `signals: true`.
 * @example await materializeAccountScores(ws, { days: ['2026-06-30'], accounts: 'changed_accounts', table: 'account_scores' })
 */
export async function materializeAccountScores(ws: Workspace, options: MaterializeScores): Promise<void> {
  const [t] = await ws.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'signal_seats'`);
  if (Number(t!['n']) === 0) throw new NrrError('account records need the signal files: open the workspace with signals: true');
  const d = ws.driver.dialect;
  const table = relationName(options.table ?? ACCOUNT_SCORES, 'table');
  const accounts = options.accounts ? (typeof options.accounts === 'string' ? relationName(options.accounts, 'accounts') : options.accounts) : null;
  const change = options.change ?? true;
  const keep = [...new Set(options.days.map(snapshotDate))];
  if (keep.length === 0) throw new NrrError('no snapshot day to score');
  const all = [...new Set([...keep, ...(change ? keep.map((x) => minusDays(x, ws.scoring.health.compare_days)) : [])])];
  const snapshots = `(SELECT CAST(x AS DATE) AS snapshot_date FROM (VALUES ${all.map((x) => `(${d.quoteString(x)})`).join(', ')}) v(x))`;
  const records = sqlAccountRecordsQuery(d, ws.policies.reporting_currency, { snapshots, accounts });
  const segment = ws.attributes.includes(ws.scoring.health.segment_attribute) ? ws.scoring.health.segment_attribute : null;
  const select = sqlScoresSelect(d, ws.scoring.health, ws.scoring.tiers, { records, segmentAttribute: segment, keep, change, accounts });
  // A table of that name may be a view of scores kept beside the store (kept-scores.ts).
  if (options.mode === 'insert') await writableScores(ws, table);
  else await dropView(ws, table);
  await ws.driver.exec(options.mode === 'insert' ? `INSERT INTO ${table} BY NAME ${select}` : `CREATE OR REPLACE TABLE ${table} AS ${select}`);
}

/** Which rows to read: one day, one account, only accounts with revenue. */
export interface ScoreKey {
  readonly table?: string;
  readonly date?: string;
  readonly accountId?: string;
  readonly activeOnly?: boolean;
}

/** The WHERE of a key. */
function keyFilter(ws: Workspace, key: ScoreKey, alias = 's'): string {
  const d = ws.driver.dialect;
  const where = [
    ...(key.date === undefined ? [] : [`${alias}.snapshot_date = CAST(${d.quoteString(key.date)} AS DATE)`]),
    ...(key.accountId === undefined ? [] : [`${alias}.account_id = ${d.quoteString(key.accountId)}`]),
    ...(key.activeOnly ? [`${alias}.active`] : []),
  ];
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/** The account attributes joined to score rows, as columns __attr_0, __attr_1, … (in the order of `attributes`). */
function attributeColumns(ws: Workspace, attributes: readonly string[] = ws.attributes): string {
  return attributes.map((a, i) => `, a.${ws.driver.dialect.quoteIdent(a)} AS __attr_${i}`).join('');
}

/**
 * Reads score rows by key (nothing is computed), ordered by day and account.
 * @example const [s] = await readAccountScores(ws, { date: '2026-06-30', accountId: 'A0000042' });
 */
export async function readAccountScores(ws: Workspace, key: ScoreKey = {}): Promise<ScoredAccount[]> {
  const table = relationName(key.table ?? ACCOUNT_SCORES, 'table');
  const rows = await ws.query(
    `SELECT s.*${attributeColumns(ws)} FROM ${table} s LEFT JOIN accounts a ON a.account_id = s.account_id ${keyFilter(ws, key)} ORDER BY s.snapshot_date, s.account_id`,
  );
  return rows.map((r) => scoredFromRow(ws, r));
}

/**
 * Reads chosen columns of score rows by key, with the attributes as `attributes`; for lists of many
 * accounts, which need a few columns of each.
 */
export async function readScoreColumns(
  ws: Workspace,
  columns: readonly string[],
  key: ScoreKey & {
    /** The attributes to read (default: all). */
    readonly attributes?: readonly string[];
    /** More columns, by name, as SQL expressions over the table's columns (written by the caller, never from input). */
    readonly extra?: Readonly<Record<string, string>>;
  } = {},
): Promise<{ row: Row; attributes: Record<string, string | null> }[]> {
  const table = relationName(key.table ?? ACCOUNT_SCORES, 'table');
  const attributes = key.attributes ?? ws.attributes;
  const cols = [
    ...columns.map((c) => `s.${relationName(c, 'column')}`),
    ...Object.entries(key.extra ?? {}).map(([name, sql]) => `${sql} AS ${relationName(name, 'column')}`),
  ].join(', ');
  const rows = await ws.query(
    `SELECT ${cols}${attributeColumns(ws, attributes)} FROM ${table} s LEFT JOIN accounts a ON a.account_id = s.account_id ${keyFilter(ws, key)} ORDER BY s.snapshot_date, s.account_id`,
  );
  return rows.map((row) => ({ row, attributes: attributesOf(attributes, row) }));
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function attributesOf(attributes: readonly string[], row: Row): Record<string, string | null> {
  return Object.fromEntries(attributes.map((a, i) => [a, text(row[`__attr_${i}`])]));
}

/** A score with its reasons, as risk-scores.ts shapes it. */
export function scoredOf(score: unknown, level: unknown, reasons: unknown, note: unknown, notScored: unknown): Scored {
  if (notScored !== null && notScored !== undefined) return { score: null, level: null, reasons: [], not_scored: String(notScored) };
  const list = ((reasons as { points: unknown; text: unknown }[] | null) ?? []).map((x): Reason => ({ points: Number(x.points), text: String(x.text) }));
  const base = { score: Number(score), level: level as 'high' | 'medium' | 'low', reasons: list };
  return note !== null && note !== undefined ? { ...base, note: String(note) } : base;
}

/** The health score of a row, as health-score.ts shapes it. */
function healthOf(row: Row): HealthScore {
  const measures = (row['health_measures'] as Row[]).map(
    (m): MeasureScore => ({
      measure: m['measure'] as MeasureName,
      group: String(m['group']),
      value: numOrNull(m['value']),
      scored: numOrNull(m['scored']),
      band: m['band'] as Band,
      points: numOrNull(m['points']),
      weight: Number(m['weight']),
    }),
  );
  const groups = Object.fromEntries((row['health_groups'] as Row[]).map((g) => [String(g['group']), { points: Number(g['points']), weight: Number(g['weight']) }]));
  const h: HealthScore = {
    score: numOrNull(row['health_score']),
    colour: (row['health_colour'] ?? null) as Colour | null,
    definition: String(row['health_definition']),
    measures,
    missing: (row['health_missing'] as MeasureName[] | null) ?? [],
    groups,
  };
  return row['health_not_scored'] == null ? h : { ...h, not_scored: String(row['health_not_scored']) };
}

function changeOf(row: Row): HealthChange | null {
  if (row['has_health_change'] !== true) return null;
  return {
    from: numOrNull(row['health_change_from']),
    to: numOrNull(row['health_score']),
    delta: numOrNull(row['health_change']),
    movers: ((row['health_change_movers'] as Row[] | null) ?? []).map((m) => ({
      measure: m['measure'] as MeasureName,
      from: numOrNull(m['from']),
      to: numOrNull(m['to']),
      delta: Number(m['delta']),
    })),
  };
}

/** A score row (with its attributes as __attr_i) as a `ScoredAccount`. */
export function scoredFromRow(ws: Workspace, row: Row): ScoredAccount {
  return {
    record: toRecord(row, attributesOf(ws.attributes, row)),
    tier: String(row['tier']),
    health: healthOf(row),
    change: changeOf(row),
    risk: scoredOf(row['churn_risk'], row['risk_level'], row['risk_reasons'], row['risk_note'], row['risk_not_scored']),
    expansion: scoredOf(row['expansion_readiness'], row['expansion_level'], row['expansion_reasons'], null, row['expansion_not_scored']),
  };
}

/** Per day and account, the forecast's 90-day probabilities that play rules read (filled by account-probabilities.ts). */
export const FORECAST_PROBABILITIES = 'forecast_account_probabilities';

/** The table of FORECAST_PROBABILITIES, empty until a rule needs it. */
export function sqlForecastProbabilitiesTable(): string {
  return `CREATE TABLE IF NOT EXISTS ${FORECAST_PROBABILITIES} (snapshot_date DATE, account_id VARCHAR, churn_probability_90d DOUBLE, expansion_probability_90d DOUBLE)`;
}

/**
 * The view `rule_inputs` that play rules read: the active accounts of the scores table, with their
 * attributes, the rule fields and the scores (docs/playbooks.md). `view` names it otherwise (the
 * plays of a few accounts, evaluated beside a full run, read their own).
 */
export async function defineRuleInputs(ws: Workspace, table = ACCOUNT_SCORES, view = 'rule_inputs'): Promise<void> {
  const d = ws.driver.dialect;
  relationName(table, 'table');
  relationName(view, 'view');
  const segment = ws.attributes.includes('segment') ? 'a.segment' : 'CAST(NULL AS VARCHAR) AS segment';
  const attrs = ws.attributes.filter((a) => a !== 'segment').map((a) => `a.${d.quoteIdent(a)}`);
  // The forecast's probabilities, written for a day only when a rule reads them (account-probabilities.ts).
  await ws.driver.exec(sqlForecastProbabilitiesTable());
  await ws.driver.exec(`CREATE OR REPLACE VIEW ${view} AS
    SELECT r.snapshot_date, r.account_id, ${[segment, ...attrs].join(', ')},
      CAST(r.mrr AS DOUBLE) AS mrr, CAST(r.arr AS DOUBLE) AS arr, r.mrr_change_90d, r.days_to_renewal, r.monthly_terms,
      date_diff('day', r.customer_since, r.snapshot_date) AS days_since_start, len(r.products) AS product_count,
      r.seat_utilisation, r.months_above_80, r.usage_trend_90d, r.usage_trend_30d, r.feature_breadth, r.adjacent_users_30d,
      r.activation_achieved, r.days_to_first_value, r.qbr_completion_12m, r.reviews_missed_180d, r.sponsor_present,
      r.days_since_sponsor_engaged, r.days_since_sponsor_left, r.sponsor_changes_12m, r.tickets_90d, r.escalations_90d,
      r.open_tickets, r.headcount_change_12m, r.days_since_funding, CAST(r.open_expansion_pipeline AS DOUBLE) AS open_expansion_pipeline,
      r.tier_number, r.health_score, r.health_colour, r.churn_risk, r.expansion_readiness,
      fp.churn_probability_90d, fp.expansion_probability_90d
    FROM ${table} r LEFT JOIN accounts a ON a.account_id = r.account_id
    LEFT JOIN ${FORECAST_PROBABILITIES} fp ON fp.snapshot_date = r.snapshot_date AND fp.account_id = r.account_id
    WHERE r.active`);
}
