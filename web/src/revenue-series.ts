// Figures derived from the company MRR series (GET /api/series) on the page, exactly: ARPA,
// quick ratio, sums over a range. Money stays decimal text; only ratios become floats.
import type { Money, SeriesRow } from './api-types.js';
import { addDecimals, divideDecimal, negateDecimal, ratioOf } from './money-format.js';

export interface PeriodFigures {
  readonly from: string;
  readonly to: string;
  readonly months: number;
  /** MRR at the end of the period's last month, ARR = 12 × MRR, customers then. */
  readonly mrr: Money;
  readonly arr: Money;
  readonly customers: number;
  /** MRR ÷ customers at the end, to the cent; null without customers. */
  readonly arpa: Money | null;
  readonly new: Money;
  readonly expansion: Money;
  readonly reactivation: Money;
  readonly contraction: Money;
  readonly churn: Money;
  readonly net_new: Money;
  /** (new + expansion + reactivation) ÷ (contraction + churn); null when nothing was lost. */
  readonly quick_ratio: number | null;
}

/** The figures of the months `from`…`to` of `rows` (null when the series has none of them). */
export function periodFigures(rows: readonly SeriesRow[], from: string, to: string): PeriodFigures | null {
  const inRange = rows.filter((r) => r.month >= from && r.month <= to);
  const last = inRange[inRange.length - 1];
  if (!last) return null;
  const sum = (k: 'new' | 'expansion' | 'reactivation' | 'contraction' | 'churn' | 'net_new') => addDecimals(inRange.map((r) => r[k]));
  const gained = addDecimals([sum('new'), sum('expansion'), sum('reactivation')]);
  const lost = addDecimals([sum('contraction'), sum('churn')]);
  return {
    from: inRange[0]!.month,
    to: last.month,
    months: inRange.length,
    mrr: last.mrr,
    arr: last.arr,
    customers: last.customers,
    arpa: last.customers > 0 ? divideDecimal(last.mrr, last.customers, 2) : null,
    new: sum('new'),
    expansion: sum('expansion'),
    reactivation: sum('reactivation'),
    contraction: sum('contraction'),
    churn: sum('churn'),
    net_new: sum('net_new'),
    quick_ratio: ratioOf(gained, lost),
  };
}

/** The MRR at the start of a month: the previous month's MRR (0 before the first). */
export function startingMrr(rows: readonly SeriesRow[], index: number): Money {
  return index > 0 ? rows[index - 1]!.mrr : '0';
}

/** Amount shown as a loss (contraction and churn are positive amounts in the series). */
export function asLoss(amount: Money): Money {
  return negateDecimal(amount);
}
