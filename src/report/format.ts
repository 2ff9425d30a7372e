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
