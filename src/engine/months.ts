import { NrrError } from '../errors.js';

/** Months as integers: year × 12 + month − 1, the same index the SQL model uses. */
export function monthIndex(text: string): number {
  const m = /^(\d{4})-(\d{2})$/.exec(text);
  const month = m ? Number(m[2]) : 0;
  if (!m || month < 1 || month > 12) throw new NrrError(`not a month: '${text}' (expected YYYY-MM)`);
  return Number(m[1]) * 12 + month - 1;
}

export function monthText(index: number): string {
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The last full month before a date. */
export function lastFullMonth(today: Date): number {
  return today.getUTCFullYear() * 12 + today.getUTCMonth() - 1;
}
