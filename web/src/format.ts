// How numbers are written on every page: money from exact decimal text, ratios as percents with
// one decimal (as the CLI and the report), counts with separators.
import { compareDecimal, formatMoney, formatMoneyCompact } from './money-format.js';
import { currentSummary } from './session.js';

/** A fraction as a percent with one decimal: 1.0434 → "104.3%". */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`;
}

/** Money in the reporting currency to the cent (or compact), from the API's decimal text. */
export function money(text: string | null | undefined, compact = false): string {
  if (text === null || text === undefined) return '—';
  const cur = currentSummary().reporting_currency;
  return compact ? formatMoneyCompact(text, cur) : formatMoney(text, cur);
}

/** A chart axis tick (a position the chart chose, not an amount from the data), compact. */
export function axisMoney(n: number): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currentSummary().reporting_currency, notation: 'compact', maximumFractionDigits: 2 }).format(n);
}

/** Where an amount sits on a chart; never shown as text (labels and tooltips format the decimal). */
export function plot(text: string): number {
  return Number(text);
}

/** A count with thousands separators. */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}

/** A score or plain number with `d` decimals. */
export function num(x: number | null | undefined, d = 1): string {
  return x === null || x === undefined ? '—' : x.toFixed(d);
}

/** "1 account", "3 accounts". */
export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** A change in money with its sign: "+$680.00", "-$80.00", "$0.00". */
export function signedMoney(text: string): string {
  return compareDecimal(text, '0') > 0 ? `+${money(text)}` : money(text);
}

/** A change in a count with its sign: "+3", "-1", "0". */
export function signedCount(n: number): string {
  return n > 0 ? `+${count(n)}` : count(n);
}
