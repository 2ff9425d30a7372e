import { join } from 'node:path';
import type { Dialect } from '../engine/dialect.js';
import { monthText } from '../engine/months.js';

/**
 * The baselines the engine is measured against, as SQL over the benchmark's Parquet files.
 * Both read the files with a fresh DuckDB: the engine's tables are not reused.
 */

export interface BaselineStep {
  readonly label: string;
  /** `read`: reading and typing the input; `model`: the equivalent of ledger + movements + metrics. */
  readonly part: 'read' | 'model';
  readonly sql: string;
}

/** DuckDB reading the subscriptions once: the floor for anything that reads the input. */
export function sqlSingleScan(d: Dialect, dir: string): string {
  return `SELECT sum(TRY_CAST(amount AS DECIMAL(38,12))) AS total FROM read_parquet(${d.quoteString(join(dir, 'subscriptions.parquet'))})`;
}

/**
 * Every file loaded as it is into a table (`typed_<name>`), typed by the file, nothing checked: the
 * floor for opening a workspace with those files.
 */
export function sqlTypedLoad(d: Dialect, dir: string, names: readonly string[]): string[] {
  return names.map((n) => `CREATE OR REPLACE TABLE typed_${n} AS SELECT * FROM read_parquet(${d.quoteString(join(dir, `${n}.parquet`))})`);
}

/**
 * One rule the pipeline cannot skip, alone: no line_id used twice, as a hash aggregate over the
 * ids read from the file. It shows how far below any validating pipeline the single scan lies.
 */
export function sqlLineIdCheck(d: Dialect, dir: string): string {
  return `SELECT count(*) AS repeated FROM (
    SELECT line_id FROM read_parquet(${d.quoteString(join(dir, 'subscriptions.parquet'))}) GROUP BY line_id HAVING count(*) > 1)`;
}

/**
 * The textbook month spine, the way dbt's mrr-playbook builds it: one row per account × month
 * from each account's first to last month, the lines in force at each month end joined on and
 * summed, lag() over the account to classify movements, then T12M NRR by segment read off the
 * spine. Every step is materialised so its cost is counted.
 *
 * The open end is written `coalesce(end_date, DATE '9999-12-31') > month_end`, not the playbook's
 * `end_date IS NULL OR …`: with the OR, DuckDB 1.5 cannot pull the account equality out of the
 * join condition and falls back to a blockwise nested-loop join (about 100× slower), which
 * would measure a planner trap rather than the spine.
 *
 * Line MRR is computed with the same exact money arithmetic as the engine (normalised by the
 * interval, converted at the rate of the start month), so the NRRs must match the engine's to the
 * last digit; the comparison is of the shape of the computation, not of number types.
 */
export function spineSteps(d: Dialect, dir: string, asOfMonth: number, window: number): BaselineStep[] {
  const file = (name: string): string => `read_parquet(${d.quoteString(join(dir, `${name}.parquet`))})`;
  const money = d.moneyType;
  const monthDate = (mi: number): string => `DATE '${monthText(mi)}-01'`;
  const interval = `lower(trim("interval"))`;
  const intervalMonths = `CASE WHEN "interval" IS NULL OR trim("interval") = '' THEN 1
      WHEN ${interval} IN ('month', 'monthly') THEN 1
      WHEN ${interval} IN ('quarter', 'quarterly') THEN 3
      WHEN ${interval} IN ('year', 'yearly', 'annual', 'annually') THEN 12
      ELSE TRY_CAST(regexp_extract(${interval}, '[0-9]+') AS INTEGER) END`;
  const net = `TRY_CAST(s.amount AS ${money}) - coalesce(TRY_CAST(s.discount AS ${money}), 0)`;
  const lineMrr = d.sqlMultiplyMoney(d.sqlDivideMoney(net, 's.interval_months'), 'coalesce(f.rate, 1)');
  return [
    {
      label: 'read + type fx rates',
      part: 'read',
      sql: `CREATE OR REPLACE TABLE spine_fx AS
        SELECT upper(trim(CAST(currency AS VARCHAR))) AS currency, CAST(trim(CAST(month AS VARCHAR)) || '-01' AS DATE) AS month,
               TRY_CAST(rate AS DECIMAL(24,10)) AS rate
        FROM ${file('fx_rates')}`,
    },
    {
      label: 'read + type accounts',
      part: 'read',
      sql: `CREATE OR REPLACE TABLE spine_accounts AS
        SELECT trim(CAST(account_id AS VARCHAR)) AS account_id, CAST(segment AS VARCHAR) AS segment FROM ${file('accounts')}`,
    },
    {
      label: 'read + type lines (normalised MRR)',
      part: 'read',
      sql: `CREATE OR REPLACE TABLE spine_lines AS
        WITH s AS (
          SELECT *, ${intervalMonths} AS interval_months,
                 CAST(start_date AS DATE) AS start_d, CAST(end_date AS DATE) AS end_d
          FROM ${file('subscriptions')}
        )
        SELECT trim(CAST(s.account_id AS VARCHAR)) AS account_id, s.start_d AS start_date, s.end_d AS end_date, ${lineMrr} AS mrr
        FROM s LEFT JOIN spine_fx f ON f.currency = upper(trim(CAST(s.currency AS VARCHAR))) AND f.month = date_trunc('month', s.start_d)`,
    },
    {
      label: 'month spine: accounts × months',
      part: 'model',
      sql: `CREATE OR REPLACE TABLE spine_account_months AS
        WITH months AS (
          SELECT CAST(range AS DATE) AS month FROM range((SELECT date_trunc('month', min(start_date)) FROM spine_lines), ${monthDate(asOfMonth + 1)}, INTERVAL 1 MONTH)
        ), account_span AS (
          SELECT account_id, date_trunc('month', min(start_date)) AS first_month,
                 least(date_trunc('month', max(coalesce(end_date, ${monthDate(asOfMonth)}))), ${monthDate(asOfMonth)}) AS last_month
          FROM spine_lines GROUP BY ALL
        )
        SELECT a.account_id, m.month, last_day(m.month) AS month_end
        FROM account_span a JOIN months m ON m.month >= a.first_month AND m.month <= a.last_month`,
    },
    {
      label: 'MRR per account-month (lines in force at month end)',
      part: 'model',
      sql: `CREATE OR REPLACE TABLE spine_mrr AS
        SELECT am.account_id, am.month, coalesce(sum(l.mrr), 0) AS mrr
        FROM spine_account_months am
        LEFT JOIN spine_lines l
          ON l.account_id = am.account_id AND l.start_date <= am.month_end AND coalesce(l.end_date, DATE '9999-12-31') > am.month_end
        GROUP BY ALL`,
    },
    {
      label: 'movements (lag over account)',
      part: 'model',
      sql: `CREATE OR REPLACE TABLE spine_movements AS
        WITH w AS (
          SELECT account_id, month, mrr,
                 coalesce(lag(mrr) OVER (PARTITION BY account_id ORDER BY month), 0) AS previous_mrr,
                 min(CASE WHEN mrr > 0 THEN month END) OVER (PARTITION BY account_id) AS first_active_month
          FROM spine_mrr
        )
        SELECT *, mrr - previous_mrr AS mrr_change,
               CASE
                 WHEN month = first_active_month THEN 'new'
                 WHEN previous_mrr = 0 AND mrr > 0 THEN 'reactivation'
                 WHEN previous_mrr > 0 AND mrr = 0 THEN 'churn'
                 WHEN mrr > previous_mrr THEN 'expansion'
                 WHEN mrr < previous_mrr THEN 'contraction'
               END AS change_category
        FROM w`,
    },
    {
      label: `T${window}M NRR by segment`,
      part: 'model',
      sql: `CREATE OR REPLACE TABLE spine_nrr AS
        WITH s AS (SELECT account_id, mrr AS start_mrr FROM spine_movements WHERE month = ${monthDate(asOfMonth - window)} AND mrr > 0),
             e AS (SELECT account_id, mrr AS end_mrr FROM spine_movements WHERE month = ${monthDate(asOfMonth)})
        SELECT coalesce(a.segment, '(none)') AS segment,
               sum(s.start_mrr) AS starting_mrr, sum(coalesce(e.end_mrr, 0)) AS ending_mrr,
               CAST(sum(coalesce(e.end_mrr, 0)) AS DOUBLE) / CAST(sum(s.start_mrr) AS DOUBLE) AS nrr,
               CAST(sum(least(coalesce(e.end_mrr, 0), s.start_mrr)) AS DOUBLE) / CAST(sum(s.start_mrr) AS DOUBLE) AS grr,
               count(*) AS starting_accounts
        FROM s LEFT JOIN e USING (account_id) LEFT JOIN spine_accounts a USING (account_id)
        GROUP BY ALL ORDER BY segment`,
    },
  ];
}
