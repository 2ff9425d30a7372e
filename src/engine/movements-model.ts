import type { Policies } from '../config/policies.js';
import { OPEN_END } from '../contract/data-contract.js';
import type { Dialect } from './dialect.js';

/** Movement categories, in bridge order. */
export const MOVEMENT_CATEGORIES = ['new', 'expansion', 'reactivation', 'contraction', 'churn'] as const;
export type MovementCategory = (typeof MOVEMENT_CATEGORIES)[number];

/** What made an account's MRR change in a month (`account_changes.cause`). */
export const MOVEMENT_CAUSES = ['contract', 'usage', 'fx', 'mixed'] as const;
export type ChangeCause = (typeof MOVEMENT_CAUSES)[number];

/**
 * `account_changes`: one row per account × month in which its MRR changed, split into the
 * movement (what customers bought or stopped buying) and the FX effect (revaluation of MRR held in
 * both months), worked out per product and currency and summed. With a rate change, gains are valued at the new rate and losses at the old one, so
 * new MRR is exactly the new month's MRR and churn exactly the last month's.
 *
 * Identity per row: mrr_after = mrr_before + movement + fx. `next_change_month` is the month of
 * the account's next row (OPEN_END after its last), so each row also gives a range of the ledger.
 *
 * The movement splits into `usage_movement` (the change of its usage charges, valued like the
 * movement) and the rest, the contract lines' part. `cause` names what changed the MRR:
 * `contract` (only lines), `usage` (only usage), `fx` (only the revaluation: no movement) or
 * `mixed` (more than one of the three).
 *
 * With FX at contract start every value is already in the reporting currency and never
 * revalued, so there is no FX effect: the changes come straight from the contributions' start
 * and end events per account, without the per-product pieces.
 */
export function sqlAccountChanges(d: Dialect, p: Policies): string {
  const window = p.reactivation_window_months;
  const isReturnNew = window === null ? 'FALSE' : `gap_months > ${window}`;
  const money = d.moneyType;
  const perAccount =
    p.fx === 'contract_start'
      ? `WITH events AS (
      SELECT account_id, source, from_month AS month_index, value AS delta FROM mrr_contributions
      UNION ALL
      SELECT account_id, source, to_month, -value FROM mrr_contributions WHERE to_month < ${OPEN_END}
    ), per_account AS (
      SELECT account_id, month_index, CAST(sum(delta) AS ${money}) AS movement, CAST(0 AS ${money}) AS fx,
             CAST(coalesce(sum(delta) FILTER (WHERE source = 'usage'), 0) AS ${money}) AS usage_movement
      FROM events GROUP BY account_id, month_index
      HAVING sum(delta) <> 0`
      : `WITH points AS (
      SELECT account_id, product, ckey, from_month AS month_index, level AS level_new, rate AS rate_new, value AS value_new,
             NULL AS level_prev, NULL AS rate_prev, NULL AS value_prev
      FROM mrr_pieces
      UNION ALL
      SELECT account_id, product, ckey, to_month, NULL, NULL, NULL, level, rate, value
      FROM mrr_pieces WHERE to_month < ${OPEN_END}
    ), usage_steps AS (
      SELECT account_id, product, ckey, month_index, sum(delta) AS usage_level
      FROM (SELECT account_id, product, ckey, from_month AS month_index, value AS delta FROM mrr_contributions WHERE source = 'usage'
            UNION ALL
            SELECT account_id, product, ckey, to_month, -value FROM mrr_contributions WHERE source = 'usage') usage_events
      GROUP BY account_id, product, ckey, month_index
    ), per_piece AS (
      SELECT account_id, product, ckey, month_index,
             coalesce(max(value_new), 0) - coalesce(max(value_prev), 0) AS total,
             coalesce(max(level_new), 0) - coalesce(max(level_prev), 0) AS level_change,
             CASE WHEN max(level_new) IS NOT NULL AND max(level_prev) IS NOT NULL
                  THEN ${d.sqlMultiplyMoney('least(max(level_new), max(level_prev))', 'max(rate_new) - max(rate_prev)')}
                  ELSE 0 END AS fx,
             -- the movement is valued at the new rate when the level rises, at the old one when it falls
             CASE WHEN coalesce(max(level_new), 0) >= coalesce(max(level_prev), 0) THEN max(rate_new) ELSE max(rate_prev) END AS move_rate
      FROM points GROUP BY account_id, product, ckey, month_index
    ), per_piece_usage AS (
      SELECT pp.*, coalesce(us.usage_level, 0) AS usage_level
      FROM per_piece pp LEFT JOIN usage_steps us
        ON us.account_id = pp.account_id AND us.product = pp.product AND us.ckey = pp.ckey AND us.month_index = pp.month_index
    ), per_account_parts AS (
      SELECT account_id, month_index,
             CAST(sum(total - fx) AS ${money}) AS movement, CAST(sum(fx) AS ${money}) AS fx,
             sum(CASE WHEN usage_level = 0 THEN 0 ELSE ${d.sqlMultiplyMoney('usage_level', 'move_rate')} END) AS usage_valued,
             ${d.sqlBoolOr('usage_level <> 0')} AS usage_changed, ${d.sqlBoolOr('level_change <> usage_level')} AS lines_changed
      FROM per_piece_usage GROUP BY account_id, month_index
      HAVING sum(total) <> 0 OR sum(fx) <> 0
    ), per_account AS (
      -- the usage part alone is valued apart; when only one of the two changed it is the whole movement
      SELECT account_id, month_index, movement, fx,
             CAST(CASE WHEN NOT usage_changed THEN 0 WHEN NOT lines_changed THEN movement ELSE usage_valued END AS ${money}) AS usage_movement
      FROM per_account_parts`;
  const byAccount = 'PARTITION BY account_id ORDER BY month_index';
  return d.sqlCreateTableAs(
    'account_changes',
    `${perAccount}
    ), running AS (
      SELECT *,
             sum(movement + fx) OVER (${byAccount} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS mrr_after,
             month_index - ${d.sqlLag('month_index', byAccount)} AS gap_months,
             coalesce(${d.sqlLead('month_index', byAccount)}, ${OPEN_END}) AS next_change_month
      FROM per_account
    ), parts AS (
      SELECT *, CASE WHEN movement = 0 THEN CAST(0 AS ${money}) ELSE usage_movement END AS usage_part FROM running
    )
    SELECT account_id, month_index, mrr_after - movement - fx AS mrr_before, mrr_after, movement, fx,
           usage_part AS usage_movement, movement - usage_part AS contract_movement,
           next_change_month, gap_months IS NULL AS first_change,
           CASE
             WHEN movement = 0 THEN 'fx'
             WHEN mrr_after - movement - fx = 0 AND gap_months IS NULL THEN 'new'
             WHEN mrr_after - movement - fx = 0 AND ${isReturnNew} THEN 'new'
             WHEN mrr_after - movement - fx = 0 THEN 'reactivation'
             WHEN mrr_after = 0 THEN 'churn'
             WHEN movement > 0 THEN 'expansion'
             ELSE 'contraction'
           END AS category,
           CASE
             WHEN movement = 0 THEN 'fx'
             WHEN (CASE WHEN fx <> 0 THEN 1 ELSE 0 END) + (CASE WHEN usage_part <> 0 THEN 1 ELSE 0 END)
                  + (CASE WHEN movement <> usage_part THEN 1 ELSE 0 END) > 1 THEN 'mixed'
             WHEN usage_part <> 0 THEN 'usage'
             ELSE 'contract'
           END AS cause
    FROM parts`,
  );
}

/**
 * `account_ranges`: account → MRR over [from_month, to_month), only where MRR is above zero. A view:
 * each change row of `account_changes` already knows the month of the account's next change.
 */
export function sqlAccountRanges(d: Dialect): string {
  return d.sqlCreateViewAs(
    'account_ranges',
    `SELECT account_id, month_index AS from_month, next_change_month AS to_month, mrr_after AS mrr
    FROM account_changes WHERE mrr_after > 0`,
  );
}

/** `account_first_revenue`: the month each account first had MRR (its cohort vintage): its first change. */
export function sqlAccountFirstRevenue(d: Dialect): string {
  return d.sqlCreateTableAs('account_first_revenue', 'SELECT account_id, month_index AS first_month FROM account_changes WHERE first_change');
}
