import { sqlAccountFilter, type AccountFilter } from '../engine/account-filter.js';
import { MOVEMENT_CATEGORIES, type ChangeCause, type MovementCategory } from '../engine/movements-model.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { checkFilter } from './series-queries.js';

/** One account's movement in one month, with the account's attributes: a row behind a bar of the bridge. */
export interface MovementListRow {
  readonly account_id: string;
  readonly month: string;
  readonly category: MovementCategory;
  /** The movement, signed: mrr_after = mrr_before + amount + fx (negative for contraction and churn). */
  readonly amount: Money;
  readonly mrr_before: Money;
  readonly mrr_after: Money;
  /** The same as amount (the name the movements have elsewhere). */
  readonly delta: Money;
  readonly fx: Money;
  readonly cause: ChangeCause;
  /** The part of the amount that is usage. */
  readonly usage_delta: Money;
  /** The account's attributes (name, segment, owner…), under their own names, after the fields above. */
  readonly [attribute: string]: unknown;
}

export interface MovementListQuery {
  /** First and last month, as month indexes. */
  readonly from: number;
  readonly to: number;
  readonly category?: MovementCategory;
  readonly account?: string;
  readonly where?: AccountFilter;
  /** At most this many rows (the total is counted all the same). */
  readonly limit?: number;
}

const CORE = new Set(['account_id', 'month', 'category', 'amount', 'mrr_before', 'mrr_after', 'delta', 'fx', 'cause', 'usage_delta']);

/**
 * The movements of a period (FX revaluations alone left out), largest first within each month,
 * with the attributes of each account: who churned, joined, expanded or contracted.
 * @example await movementList(ws, { from: m, to: m, category: 'churn', where: { segment: 'smb' } })
 */
export async function movementList(ws: Workspace, q: MovementListQuery): Promise<{ total: number; rows: MovementListRow[] }> {
  checkFilter(ws, q.where);
  const d = ws.driver.dialect;
  const where = [`c.category <> 'fx'`, `c.month_index BETWEEN ${q.from} AND ${q.to}`, sqlAccountFilter(d, q.where, 'c.account_id')];
  if (q.category) where.push(`c.category = ${d.quoteString(q.category)}`);
  if (q.account) where.push(`c.account_id = ${d.quoteString(q.account)}`);
  const attrs = ws.attributes.filter((a) => !CORE.has(a));
  const [count] = await ws.query(`SELECT count(*) AS n FROM account_changes c WHERE ${where.join(' AND ')}`);
  const rows = await ws.query(
    `SELECT c.account_id, ${d.sqlMonthText('c.month_index')} AS month, c.category, c.mrr_before, c.mrr_after, c.movement, c.fx, c.cause, c.usage_movement
            ${attrs.map((a, i) => `, CAST(a.${d.quoteIdent(a)} AS VARCHAR) AS attr_${i}`).join('')}
     FROM account_changes c ${attrs.length > 0 ? 'LEFT JOIN accounts a ON a.account_id = c.account_id' : ''}
     WHERE ${where.join(' AND ')}
     ORDER BY c.month_index, abs(c.movement) DESC, c.account_id
     ${q.limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(q.limit))}`}`,
  );
  return {
    total: Number(count?.['n'] ?? 0),
    rows: rows.map((r) => {
      const amount = Money.from(r['movement']);
      return {
        account_id: String(r['account_id']),
        month: String(r['month']),
        category: r['category'] as MovementCategory,
        amount,
        mrr_before: Money.from(r['mrr_before']),
        mrr_after: Money.from(r['mrr_after']),
        delta: amount,
        fx: Money.from(r['fx']),
        cause: r['cause'] as ChangeCause,
        usage_delta: Money.from(r['usage_movement']),
        ...Object.fromEntries(attrs.map((a, i) => [a, r[`attr_${i}`] ?? null])),
      };
    }),
  };
}

/** A category's movements in a period: their signed sum, the accounts behind them and how many. */
export interface MovementTotal {
  /** Signed: contraction and churn are negative. */
  readonly amount: Money;
  /** Distinct accounts with a movement of this kind (an account may have several in a range). */
  readonly accounts: number;
  readonly movements: number;
}

/** The totals of a period per category, and net new: the sum of every category. */
export type MovementTotals = Record<MovementCategory, MovementTotal> & {
  /** amount = new + expansion + reactivation − contraction − churn; accounts: with any movement. */
  readonly net_new: MovementTotal & {
    /** New and reactivation movements less churn ones: the change in customers over the period. */
    readonly customers: number;
  };
};

/**
 * The movements of a period (FX revaluations alone left out) totalled per category, over every
 * category whatever one a list shows: what `nrr movements` gives for those months, summed.
 * @example await movementTotals(ws, { from: m - 2, to: m, where: { region: 'EMEA' } })
 */
export async function movementTotals(ws: Workspace, q: Pick<MovementListQuery, 'from' | 'to' | 'account' | 'where'>): Promise<MovementTotals> {
  checkFilter(ws, q.where);
  const d = ws.driver.dialect;
  const conditions = [`c.category <> 'fx'`, `c.month_index BETWEEN ${q.from} AND ${q.to}`, sqlAccountFilter(d, q.where, 'c.account_id')];
  if (q.account) conditions.push(`c.account_id = ${d.quoteString(q.account)}`);
  const where = conditions.join(' AND ');
  const byCategory = await ws.query(`SELECT c.category, sum(c.movement) AS amount, count(DISTINCT c.account_id) AS accounts, count(*) AS n FROM account_changes c WHERE ${where} GROUP BY c.category`);
  const [all] = await ws.query(`SELECT sum(c.movement) AS amount, count(DISTINCT c.account_id) AS accounts, count(*) AS n FROM account_changes c WHERE ${where}`);
  const total = (r: Record<string, unknown> | undefined): MovementTotal => ({ amount: Money.from(r?.['amount']), accounts: Number(r?.['accounts'] ?? 0), movements: Number(r?.['n'] ?? 0) });
  const of = Object.fromEntries(MOVEMENT_CATEGORIES.map((k) => [k, total(byCategory.find((r) => r['category'] === k))])) as Record<MovementCategory, MovementTotal>;
  return { ...of, net_new: { ...total(all), customers: of.new.movements + of.reactivation.movements - of.churn.movements } };
}
