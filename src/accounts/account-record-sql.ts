import type { Dialect } from '../engine/dialect.js';

/**
 * `account_records`: one row per account × snapshot date (table `record_snapshots(snapshot_date)`),
 * joining billing with every signal file, computed only from what was known on that date:
 * - lines count once they have started (a renewal signed in advance is not known before it starts);
 * - usage weeks (a week without a row, after the account's first, is a week of zeros), tickets, meetings, milestones (from their due date or when reached, if earlier),
 *   enrichment and opportunities count when dated on or before the snapshot; a ticket closed, a contact who left or an opportunity closed after it is
 *   still open there;
 * - `last_engaged` is a point-in-time field (the latest engagement when the file was exported): a
 *   value after the snapshot says nothing about engagement before it and is treated as unknown.
 * MRR is valued at the rate in force when each line starts, without usage (which is billed after
 * the fact), so it is the contracted run-rate on the day. Open expansion pipeline is converted at
 * the rate in force on the snapshot day (validation makes sure one is in force from the
 * opportunity's created_date on); without a currency it is in the reporting currency.
 */
export function sqlAccountRecords(d: Dialect, attributes: readonly string[], reportingCurrency: string): string {
  return `CREATE OR REPLACE TABLE account_records AS\n  ${sqlAccountRecordsQuery(d, reportingCurrency, { attributes })}`;
}

/**
 * The weeks the product usage file has rows for: what the records read of the whole file (its
 * latest week on a day), kept as a small table so that one account's record does not read every
 * account's usage. Made after the signal tables (sqlUsageWeeks) and kept up to date with them.
 */
export const USAGE_WEEKS = 'usage_weeks';

export function sqlUsageWeeks(): string {
  return `CREATE OR REPLACE TABLE ${USAGE_WEEKS} AS SELECT DISTINCT week FROM signal_product_usage`;
}

export interface RecordQueryOptions {
  /** Account attributes to add as columns (from `accounts`); none by default. */
  readonly attributes?: readonly string[];
  /** A relation with the snapshot days in a DATE column `snapshot_date` (default `record_snapshots`). */
  readonly snapshots?: string;
  /** Only these accounts' records: a relation with an `account_id` column, or the ids themselves (null: every account). */
  readonly accounts?: AccountSet | null;
}

/**
 * Some accounts: a relation with an `account_id` column, a list of ids, or the ids from `from`
 * (included) to `to` (excluded; null: no end) in text order. A short list and a range are written
 * into the SQL as they are, so that each table is read only where those accounts' rows are (the
 * store keeps its tables in the order of their accounts).
 */
export type AccountSet = string | { readonly ids: readonly string[] } | { readonly from: string; readonly to: string | null };

/** The condition that `column` is one of `accounts`. */
export function sqlAccountIn(d: Dialect, column: string, accounts: AccountSet): string {
  if (typeof accounts === 'string') return `${column} IN (SELECT account_id FROM ${accounts})`;
  if ('from' in accounts) return `(${column} >= ${d.quoteString(accounts.from)}${accounts.to === null ? '' : ` AND ${column} < ${d.quoteString(accounts.to)}`})`;
  return accounts.ids.length === 0 ? 'FALSE' : `${column} IN (${accounts.ids.map((id) => d.quoteString(id)).join(', ')})`;
}

/**
 * The query behind `account_records` (a SELECT, with its CTEs): one row per account × snapshot day.
 * Restricted to `accounts`, every file is read for those accounts only; what is file-wide (the
 * latest usage week, whether a signal file has rows) is still read from the whole file.
 */
export function sqlAccountRecordsQuery(d: Dialect, reportingCurrency: string, options: RecordQueryOptions = {}): string {
  const q = d.quoteIdent;
  const attrs = (options.attributes ?? []).map((a) => `, a.${q(a)}`).join('');
  const accounts = options.accounts ?? null;
  // Restricted, a table is filtered to the accounts before it is joined with the snapshot days: a
  // filter left to after that range join would first pair every account's rows with every day.
  const rowsOf = (table: string): string => (accounts === null ? table : `(SELECT * FROM ${table} WHERE ${sqlAccountIn(d, 'account_id', accounts)})`);
  const snapshots = options.snapshots ?? 'record_snapshots';
  const days = (later: string, earlier: string): string => `date_diff('day', ${earlier}, ${later})`;
  const inForce = (at: string): string => `k.start_date <= ${at} AND (k.end_date IS NULL OR k.end_date > ${at})`;
  /** Weekly slots (first_week + 7k, up to last_week) in (after, upTo]: the weeks a window averages over. */
  const slots = (after: string, upTo: string): string => {
    const n = (x: string): string => `CASE WHEN ${x} < f.first_week THEN 0 ELSE date_diff('day', f.first_week, ${x}) // 7 + 1 END`;
    return `greatest(0, ${n(`least(${upTo}, l.last_week)`)} - ${n(after)})`;
  };
  /** A weekly count's average over a window's weeks, a week without a row counting as 0 (when the file gives the column). */
  const weekly = (column: string, given: string, filter: string, after: string, upTo: string): string =>
    `CASE WHEN g.${given} THEN coalesce(sum(u.${column}) FILTER (WHERE ${filter}), 0) / nullif(${slots(after, upTo)}, 0) END`;
  // No ticket for an account is a true zero when the tickets file has rows; without any it is unknown.
  const known = (source: string, expr: string): string => `CASE WHEN EXISTS (SELECT 1 FROM signal_${source}) THEN ${expr} END`;
  return `WITH s AS (SELECT DISTINCT snapshot_date AS d FROM ${snapshots}),
  valued AS (
    SELECT l.account_id, l.product, l.start_date, l.end_date, l.interval_months, l.mrr_start_rate AS mrr,
      -- ARR from the amount billed where that is exact (reporting currency, a term of months dividing a
      -- year, or of weeks dividing 52; a weekly price is not a monthly one):
      -- 320,632.79 a year is ARR 320,632.79, not 12 × its MRR truncated at the 12th decimal.
      CASE WHEN l.amount IS NOT NULL AND l.interval_weeks IS NULL AND l.interval_months > 0 AND 12 % l.interval_months = 0 AND l.mrr_start_rate = l.mrr_local
           THEN CAST((l.amount - coalesce(l.discount, 0)) * (12 // l.interval_months) AS ${d.moneyType})
           WHEN l.amount IS NOT NULL AND l.interval_weeks > 0 AND 52 % l.interval_weeks = 0 AND l.mrr_start_rate = l.mrr_local
           THEN CAST((l.amount - coalesce(l.discount, 0)) * (52 // l.interval_weeks) AS ${d.moneyType})
           ELSE l.mrr_start_rate * 12 END AS arr
    FROM ${rowsOf('lines')} l
  ),
  billing AS (
    SELECT s.d, k.account_id,
      coalesce(sum(k.mrr) FILTER (WHERE ${inForce('s.d')}), 0) AS mrr,
      coalesce(sum(k.arr) FILTER (WHERE ${inForce('s.d')}), 0) AS arr,
      coalesce(sum(k.mrr) FILTER (WHERE ${inForce("s.d - INTERVAL 90 DAY")}), 0) AS mrr_90d_ago,
      min(k.start_date) AS customer_since,
      max(k.end_date) FILTER (WHERE ${inForce('s.d')} AND k.interval_months > 1) AS contract_end,
      bool_or(${inForce('s.d')} AND k.interval_months = 1) AS monthly_terms,
      list(DISTINCT k.product ORDER BY k.product) FILTER (WHERE ${inForce('s.d')}) AS products,
      max(coalesce(k.end_date, DATE '9999-12-31')) FILTER (WHERE k.start_date <= s.d) AS last_end
    FROM s JOIN valued k ON k.start_date <= s.d
    GROUP BY ALL
  ),
  -- Weeks with no activity (docs/data-contract.md#product_usage): from an account's first week in the
  -- file to the file's latest week over by the snapshot, a 7-day slot without a row counts as zeros.
  usage_first AS (SELECT account_id, min(week) AS first_week FROM ${rowsOf('signal_product_usage')} u GROUP BY ALL),
  -- A count column the file gives (any value) is 0 in a week without a row; one it does not give stays unknown.
  usage_given AS (
    SELECT EXISTS (SELECT 1 FROM signal_product_usage WHERE active_users IS NOT NULL) AS users,
      EXISTS (SELECT 1 FROM signal_product_usage WHERE adjacent_feature_users IS NOT NULL) AS adjacent
  ),
  usage_last AS (
    SELECT s.d, max(w.week) AS last_week FROM s JOIN ${USAGE_WEEKS} w ON w.week <= s.d - INTERVAL 6 DAY GROUP BY ALL
  ),
  usage AS (
    SELECT s.d, f.account_id,
      ${weekly('active_users', 'users', 'u.week > s.d - INTERVAL 37 DAY', 's.d - INTERVAL 37 DAY', 's.d - INTERVAL 6 DAY')} AS users_30d,
      ${weekly('active_users', 'users', 'u.week > s.d - INTERVAL 97 DAY', 's.d - INTERVAL 97 DAY', 's.d - INTERVAL 6 DAY')} AS users_90d,
      ${weekly('active_users', 'users', 'u.week <= s.d - INTERVAL 97 DAY AND u.week > s.d - INTERVAL 187 DAY', 's.d - INTERVAL 187 DAY', 's.d - INTERVAL 97 DAY')} AS users_prior_90d,
      ${weekly('active_users', 'users', 'u.week <= s.d - INTERVAL 37 DAY AND u.week > s.d - INTERVAL 127 DAY', 's.d - INTERVAL 127 DAY', 's.d - INTERVAL 37 DAY')} AS users_before_30d,
      (CAST(coalesce(sum(u.key_events) FILTER (WHERE u.week > s.d - INTERVAL 37 DAY), 0) > 0 AS INTEGER)
       + CAST(coalesce(sum(u.api_calls) FILTER (WHERE u.week > s.d - INTERVAL 37 DAY), 0) > 0 AS INTEGER)
       + CAST(coalesce(sum(u.adjacent_feature_users) FILTER (WHERE u.week > s.d - INTERVAL 37 DAY), 0) > 0 AS INTEGER)) / 3.0 AS feature_breadth,
      ${weekly('adjacent_feature_users', 'adjacent', 'u.week > s.d - INTERVAL 37 DAY', 's.d - INTERVAL 37 DAY', 's.d - INTERVAL 6 DAY')} AS adjacent_users_30d,
      ${slots('s.d - INTERVAL 37 DAY', 's.d - INTERVAL 6 DAY')} AS weeks_30d
    -- A week counts once it is over: its Monday is at least six days before the snapshot.
    FROM s JOIN usage_last l ON l.d = s.d JOIN usage_first f ON f.first_week <= l.last_week CROSS JOIN usage_given g
    LEFT JOIN ${rowsOf('signal_product_usage')} u
      ON u.account_id = f.account_id AND u.week <= s.d - INTERVAL 6 DAY AND u.week > s.d - INTERVAL 187 DAY
    GROUP BY s.d, f.account_id, f.first_week, l.last_week, g.users, g.adjacent
  ),
  seat_months AS (
    SELECT s.d, x.account_id, x.month, x.seats_purchased, x.seats_active,
           row_number() OVER (PARTITION BY s.d, x.account_id ORDER BY x.month DESC) AS recency
    FROM s JOIN ${rowsOf('signal_seats')} x ON x.month + INTERVAL 1 MONTH <= s.d + INTERVAL 1 DAY AND x.month > s.d - INTERVAL 14 MONTH
  ),
  seats AS (
    SELECT d, account_id,
      max(seats_purchased) FILTER (WHERE recency = 1) AS seats_purchased,
      max(seats_active) FILTER (WHERE recency = 1) AS seats_active,
      -- The run of months above 80 % utilisation that ends with the latest month.
      coalesce(min(recency) FILTER (WHERE seats_purchased = 0 OR seats_active <= 0.8 * seats_purchased), max(recency) + 1) - 1 AS months_above_80
    FROM seat_months GROUP BY ALL
  ),
  onboarding AS (
    SELECT s.d, o.account_id,
      max(CASE WHEN o.achieved_date <= s.d THEN 1 WHEN o.target_date <= s.d THEN 0 END) FILTER (WHERE o.milestone = 'activation') AS activation_achieved,
      max(o.achieved_date) FILTER (WHERE o.milestone = 'first_value' AND o.achieved_date <= s.d) AS first_value_date,
      max(o.target_date) FILTER (WHERE o.milestone = 'activation') AS activation_due
    -- A milestone is known from its due date, or from when it was reached if that came first.
    FROM s JOIN ${rowsOf('signal_onboarding')} o ON least(o.target_date, coalesce(o.achieved_date, o.target_date)) <= s.d
    GROUP BY ALL
  ),
  meetings AS (
    SELECT s.d, m.account_id,
      count(*) FILTER (WHERE m.status = 'held') AS reviews_held_12m,
      count(*) FILTER (WHERE m.status IN ('held', 'skipped', 'cancelled')) AS reviews_due_12m,
      count(*) FILTER (WHERE m.status IN ('skipped', 'cancelled') AND m.scheduled_date > s.d - INTERVAL 180 DAY) AS reviews_missed_180d
    FROM s JOIN ${rowsOf('signal_meetings')} m ON m.type IN ('qbr', 'ebr') AND m.scheduled_date <= s.d AND m.scheduled_date > s.d - INTERVAL 365 DAY
    GROUP BY ALL
  ),
  sponsors AS (
    SELECT s.d, c.account_id,
      bool_or(c.end_date IS NULL OR c.end_date > s.d) AS sponsor_present,
      max(c.last_engaged) FILTER (WHERE (c.end_date IS NULL OR c.end_date > s.d) AND c.last_engaged <= s.d) AS sponsor_last_engaged,
      max(c.end_date) FILTER (WHERE c.end_date <= s.d) AS sponsor_left_on,
      count(*) FILTER (WHERE c.end_date <= s.d AND c.end_date > s.d - INTERVAL 365 DAY) AS sponsor_changes_12m
    FROM s JOIN ${rowsOf('signal_contacts')} c ON c.role = 'executive_sponsor' AND c.start_date <= s.d
    GROUP BY ALL
  ),
  tickets AS (
    SELECT s.d, t.account_id,
      count(*) FILTER (WHERE t.opened_date > s.d - INTERVAL 90 DAY) AS tickets_90d,
      count(*) FILTER (WHERE t.opened_date <= s.d - INTERVAL 90 DAY) AS tickets_prior_90d,
      count(*) FILTER (WHERE t.opened_date > s.d - INTERVAL 90 DAY AND t.escalated) AS escalations_90d,
      max(t.opened_date) FILTER (WHERE t.escalated) AS last_escalation,
      count(*) FILTER (WHERE t.closed_date IS NULL OR t.closed_date > s.d) AS open_tickets
    FROM s JOIN ${rowsOf('signal_tickets')} t ON t.opened_date <= s.d AND t.opened_date > s.d - INTERVAL 180 DAY
    GROUP BY ALL
  ),
  firmographics AS (
    SELECT s.d, e.account_id,
      arg_max(e.headcount, e.date) FILTER (WHERE e.headcount IS NOT NULL) AS headcount,
      arg_max(e.headcount, e.date) FILTER (WHERE e.headcount IS NOT NULL AND e.date <= s.d - INTERVAL 365 DAY) AS headcount_12m_ago,
      max(e.date) FILTER (WHERE e.funding_round IS NOT NULL AND e.funding_round <> '') AS last_funding_date,
      arg_max(e.funding_round, e.date) FILTER (WHERE e.funding_round IS NOT NULL AND e.funding_round <> '') AS last_funding_round,
      arg_max(e.funding_amount, e.date) FILTER (WHERE e.funding_round IS NOT NULL AND e.funding_round <> '') AS last_funding_amount
    FROM s JOIN ${rowsOf('signal_enrichment')} e ON e.date <= s.d
    GROUP BY ALL
  ),
  pipeline AS (
    SELECT s.d, o.account_id,
      sum(CASE WHEN coalesce(o.currency, '') IN ('', ${d.quoteString(reportingCurrency)}) THEN o.amount
               ELSE ${d.sqlMultiplyMoney('o.amount', 'f.rate')} END) AS open_expansion_pipeline,
      count(*) AS open_expansion_opportunities
    FROM s JOIN ${rowsOf('signal_opportunities')} o
      ON o.type = 'expansion' AND o.created_date <= s.d AND (o.close_date > s.d OR (o.stage = 'open' AND (o.close_date IS NULL OR o.close_date <= s.d)))
    LEFT JOIN fx_periods f ON f.currency = o.currency AND f.from_month <= ${d.sqlMonthIndex('s.d')} AND ${d.sqlMonthIndex('s.d')} < f.to_month
    GROUP BY ALL
  ),
  recent AS (
    SELECT s.d, c.account_id, arg_max(c.category, c.month_index) AS last_movement, max(c.month_index) AS last_movement_month
    FROM s JOIN ${rowsOf('account_changes')} c ON c.month_index < ${d.sqlMonthIndex("s.d + INTERVAL 1 DAY")} AND c.category IS NOT NULL AND c.category <> 'fx'
    GROUP BY ALL
  ),
  final AS (
    SELECT b.d AS snapshot_date, b.account_id${attrs},
      b.mrr, b.arr, b.mrr > 0 AS active, b.customer_since, b.products,
      CASE WHEN b.mrr_90d_ago > 0 THEN CAST(b.mrr AS DOUBLE) / CAST(b.mrr_90d_ago AS DOUBLE) - 1 END AS mrr_change_90d,
      b.contract_end AS renewal_date,
      CASE WHEN b.contract_end IS NOT NULL THEN ${days('b.contract_end', 'b.d')} END AS days_to_renewal,
      coalesce(b.monthly_terms, FALSE) AS monthly_terms,
      r.last_movement, r.last_movement_month,
      st.seats_purchased, st.seats_active,
      CASE WHEN st.seats_purchased > 0 THEN st.seats_active / st.seats_purchased END AS seat_utilisation,
      st.months_above_80,
      us.users_30d, us.users_90d,
      CASE WHEN us.users_prior_90d > 0 THEN us.users_90d / us.users_prior_90d - 1 END AS usage_trend_90d,
      CASE WHEN us.users_before_30d > 0 THEN us.users_30d / us.users_before_30d - 1 END AS usage_trend_30d,
      CASE WHEN us.weeks_30d > 0 THEN us.feature_breadth END AS feature_breadth,
      us.adjacent_users_30d,
      ob.activation_achieved, ob.activation_due,
      CASE WHEN ob.first_value_date IS NOT NULL THEN ${days('ob.first_value_date', 'b.customer_since')} END AS days_to_first_value,
      mt.reviews_held_12m, mt.reviews_due_12m, ${known('meetings', 'coalesce(mt.reviews_missed_180d, 0)')} AS reviews_missed_180d,
      CASE WHEN mt.reviews_due_12m > 0 THEN mt.reviews_held_12m / mt.reviews_due_12m END AS qbr_completion_12m,
      coalesce(sp.sponsor_present, FALSE) AS sponsor_present,
      CASE WHEN sp.sponsor_present THEN ${days('b.d', 'sp.sponsor_last_engaged')}
           WHEN sp.sponsor_left_on IS NOT NULL THEN ${days('b.d', 'sp.sponsor_left_on')} END AS days_since_sponsor_engaged,
      CASE WHEN NOT coalesce(sp.sponsor_present, FALSE) AND sp.sponsor_left_on IS NOT NULL THEN ${days('b.d', 'sp.sponsor_left_on')} END AS days_since_sponsor_left,
      ${known('contacts', 'coalesce(sp.sponsor_changes_12m, 0)')} AS sponsor_changes_12m,
      ${known('tickets', 'coalesce(t.tickets_90d, 0)')} AS tickets_90d,
      ${known('tickets', 'coalesce(t.escalations_90d, 0)')} AS escalations_90d,
      ${known('tickets', `CASE WHEN coalesce(t.tickets_prior_90d, 0) > 0 THEN t.tickets_90d / t.tickets_prior_90d - 1
           WHEN coalesce(t.tickets_90d, 0) = 0 THEN 0 ELSE 1 END`)} AS ticket_trend_90d,
      ${known('tickets', 'coalesce(t.open_tickets, 0)')} AS open_tickets,
      CASE WHEN t.last_escalation > b.d - INTERVAL 90 DAY THEN ${days('b.d', 't.last_escalation')} END AS days_since_escalation,
      fi.headcount,
      CASE WHEN fi.headcount_12m_ago > 0 THEN fi.headcount / fi.headcount_12m_ago - 1 END AS headcount_change_12m,
      fi.last_funding_round, fi.last_funding_amount,
      CASE WHEN fi.last_funding_date IS NOT NULL THEN ${days('b.d', 'fi.last_funding_date')} END AS days_since_funding,
      coalesce(pl.open_expansion_pipeline, 0) AS open_expansion_pipeline,
      coalesce(pl.open_expansion_opportunities, 0) AS open_expansion_opportunities,
      -- The signal files with rows of this account known on the day (list_distinct drops the NULLs).
      list_sort(list_distinct([${[
        ['us', 'product_usage'], ['st', 'seats'], ['ob', 'onboarding'], ['mt', 'meetings'],
        ['sp', 'contacts'], ['t', 'tickets'], ['fi', 'enrichment'], ['pl', 'opportunities'],
      ].map(([alias, source]) => `CASE WHEN ${alias}.account_id IS NOT NULL THEN '${source}' END`).join(', ')}])) AS signal_sources
    FROM billing b
    LEFT JOIN accounts a ON a.account_id = b.account_id
    LEFT JOIN usage us ON us.d = b.d AND us.account_id = b.account_id
    LEFT JOIN seats st ON st.d = b.d AND st.account_id = b.account_id
    LEFT JOIN onboarding ob ON ob.d = b.d AND ob.account_id = b.account_id
    LEFT JOIN meetings mt ON mt.d = b.d AND mt.account_id = b.account_id
    LEFT JOIN sponsors sp ON sp.d = b.d AND sp.account_id = b.account_id
    LEFT JOIN tickets t ON t.d = b.d AND t.account_id = b.account_id
    LEFT JOIN firmographics fi ON fi.d = b.d AND fi.account_id = b.account_id
    LEFT JOIN pipeline pl ON pl.d = b.d AND pl.account_id = b.account_id
    LEFT JOIN recent r ON r.d = b.d AND r.account_id = b.account_id
  )
  SELECT * FROM final`;
}

/**
 * `record_outcomes`: what happened to each account in the 90 days after each snapshot, from the
 * contracted MRR of the lines (for judging scores against history): churned when none is left,
 * contracted when less is left.
 */
export function sqlRecordOutcomes(horizonDays: number, records = 'account_records'): string {
  const inForce = (at: string): string => `k.start_date <= ${at} AND (k.end_date IS NULL OR k.end_date > ${at})`;
  return `CREATE OR REPLACE TABLE record_outcomes AS
  WITH valued AS (
    SELECT l.account_id, l.start_date, l.end_date, l.mrr_start_rate AS mrr FROM lines l
  )
  SELECT r.snapshot_date, r.account_id, r.mrr,
         coalesce(sum(k.mrr) FILTER (WHERE ${inForce(`r.snapshot_date + INTERVAL ${horizonDays} DAY`)}), 0) AS mrr_after
  FROM ${records} r LEFT JOIN valued k ON k.account_id = r.account_id
  WHERE r.active
  GROUP BY ALL`;
}
