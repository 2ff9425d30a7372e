import type { Money } from '../money.js';

/** 1.015 → '101.5%'; null → '—'. */
export function formatPercent(x: number | null | undefined, dp = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(dp)}%`;
}

/** Money rounded half-up to cents with thousands separators, from its exact decimal text. */
export function formatMoney(m: Money, dp = 2): string {
  const fixed = m.toFixed(dp);
  const neg = fixed.startsWith('-');
  const [int, frac] = (neg ? fixed.slice(1) : fixed).split('.') as [string, string | undefined];
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** The marks a figure carries in Markdown and HTML: a small group, an implausible NRR. */
export function plausibilityMarks(m: { readonly small_group: boolean; readonly nrr_plausible: boolean | null }): { readonly group: string; readonly nrr: string } {
  return { group: m.small_group ? ' ⚠ small group' : '', nrr: m.nrr_plausible === false ? ' ⚠ implausible' : '' };
}

/** How a group was matched to its benchmark, for people. */
export function benchmarkBasis(b: { readonly matched_by?: 'config' | 'acv' } | null): string {
  return b?.matched_by === 'config' ? ' (config)' : b?.matched_by === 'acv' ? ' (by median ACV)' : '';
}
