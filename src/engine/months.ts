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

/** A day as YYYY-MM-DD (UTC). */
export function dayText(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The last day of a month, as YYYY-MM-DD. */
export function monthEnd(index: number): string {
  return dayText(new Date(Date.UTC(Math.floor(index / 12), (index % 12) + 1, 0)));
}

/**
 * The last month over by the end of a day: its own month when it is the month's last day, else the
 * month before. `monthEndedBy('2024-06-30')` is 2024-06, `monthEndedBy('2024-06-15')` is 2024-05.
 */
export function monthEndedBy(day: string): number {
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return lastFullMonth(next);
}

/**
 * The same day `months` months later (earlier when negative), clamped to that month's length; a
 * month's last day stays a last day.
 * @example shiftDay('2026-06-30', -1) // '2026-05-31'
 */
export function shiftDay(day: string, months: number): string {
  const index = monthIndex(day.slice(0, 7)) + months;
  const last = monthEnd(index);
  const isLast = day === monthEnd(monthIndex(day.slice(0, 7)));
  return isLast || Number(day.slice(8, 10)) > Number(last.slice(8, 10)) ? last : `${monthText(index)}-${day.slice(8, 10)}`;
}

/** Whole days from one YYYY-MM-DD day to another (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * Refuses a month that is not over on `today` unless partial months are allowed: its figures would
 * count only part of it and read as fact.
 * @example checkFullMonth(monthIndex('2026-12'), '2026-12-02', false, '--month') // throws
 */
export function checkFullMonth(index: number, today: string, allowPartial: boolean, what: string): void {
  const full = lastFullMonth(new Date(`${today}T00:00:00Z`));
  if (index <= full || allowPartial) return;
  const state = index === full + 1 ? 'is not over yet' : 'has not begun';
  throw new NrrError(
    `${what} ${monthText(index)} ${state} (today is ${today}; the last full month is ${monthText(full)}): ` +
      `its figures would be partial. Report ${monthText(full)} or earlier, or pass --allow-partial to report it marked as partial`,
  );
}
