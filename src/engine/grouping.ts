import type { Policies } from '../config/policies.js';
import type { Dialect } from './dialect.js';

export type Granularity = 'month' | 'quarter' | 'year';

/** What a metric is sliced by. */
export type Grouping =
  | { readonly kind: 'all' }
  | { readonly kind: 'attribute'; readonly column: string }
  | { readonly kind: 'account' }
  | { readonly kind: 'product' }
  | { readonly kind: 'acv_band' }
  | { readonly kind: 'cohort'; readonly granularity: Granularity };

/** Names accepted by `--by` besides account attribute columns. */
export const BUILT_IN_GROUPINGS = ['account', 'product', 'acv_band', 'cohort', 'cohort_month', 'cohort_quarter', 'cohort_year'] as const;

export function parseGrouping(by: string | undefined, p: Policies): Grouping {
  if (by === undefined || by === '' || by === 'all') return { kind: 'all' };
  if (by === 'product') return { kind: 'product' };
  if (by === 'account') return { kind: 'account' };
  if (by === 'acv_band') return { kind: 'acv_band' };
  if (by === 'cohort') return { kind: 'cohort', granularity: p.cohort_granularity };
  if (by === 'cohort_month' || by === 'cohort_quarter' || by === 'cohort_year') {
    return { kind: 'cohort', granularity: by.slice('cohort_'.length) as Granularity };
  }
  return { kind: 'attribute', column: by };
}

/** A label for the period holding a month: '2024-03', '2024-Q1' or '2024'. */
export function sqlPeriodLabel(d: Dialect, g: Granularity, monthExpr: string): string {
  switch (g) {
    case 'month':
      return d.sqlMonthText(monthExpr);
    case 'quarter':
      return `CAST(${d.sqlIntDiv(monthExpr, '12')} AS VARCHAR) || '-Q' || CAST(${d.sqlIntDiv(`(${monthExpr}) % 12`, '3')} + 1 AS VARCHAR)`;
    case 'year':
      return `CAST(${d.sqlIntDiv(monthExpr, '12')} AS VARCHAR)`;
  }
}

/** The ACV band of an MRR amount (annualised ×12), by the configured bands. */
export function sqlAcvBand(d: Dialect, p: Policies, mrrExpr: string): string {
  const cases = p.acv_bands
    .map((b) => (b.below === null ? `ELSE ${d.quoteString(b.name)}` : `WHEN (${mrrExpr}) * 12 < ${b.below} THEN ${d.quoteString(b.name)}`))
    .join(' ');
  return `CASE ${cases} END`;
}

/**
 * The SQL that labels a unit row (alias `u`, with `account_id`, `start_mrr` and, for products,
 * `product`) with its group, and the joins it needs.
 */
export function sqlGroupLabel(d: Dialect, p: Policies, g: Grouping): { expr: string; joins: string } {
  switch (g.kind) {
    case 'all':
      return { expr: `'all'`, joins: '' };
    case 'account':
      return { expr: 'u.account_id', joins: '' };
    case 'product':
      return { expr: 'u.product', joins: '' };
    case 'acv_band':
      return { expr: sqlAcvBand(d, p, 'u.start_mrr'), joins: '' };
    case 'attribute':
      return {
        expr: `coalesce(CAST(a.${d.quoteIdent(g.column)} AS VARCHAR), '(none)')`,
        joins: 'LEFT JOIN accounts a ON a.account_id = u.account_id',
      };
    case 'cohort':
      return {
        expr: sqlPeriodLabel(d, g.granularity, 'c.first_month'),
        joins: 'LEFT JOIN account_first_revenue c ON c.account_id = u.account_id',
      };
  }
}
