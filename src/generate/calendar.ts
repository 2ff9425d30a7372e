/**
 * Days and months for the generator: days are whole numbers since 1970-01-01 (UTC), months are month
 * indexes (year × 12 + month − 1, as in src/engine/months.ts). Dates are formatted from precomputed
 * tables, because generation formats hundreds of millions of them.
 */
const MS_PER_DAY = 86_400_000;

export class Calendar {
  /** The first month simulated and the last (inclusive). */
  readonly firstMonth: number;
  readonly lastMonth: number;
  private readonly firstDay: number;
  private readonly dayText: string[] = [];
  private readonly monthTextCache: string[] = [];
  /** The Mondays of each month, first month to last. */
  private readonly weeks: number[][] = [];

  constructor(firstMonth: number, lastMonth: number) {
    this.firstMonth = firstMonth;
    this.lastMonth = lastMonth;
    // Room for contracts that run years past the end and milestones due before the start.
    this.firstDay = this.monthStart(firstMonth - 24);
    const lastDay = this.monthStart(lastMonth + 72);
    for (let d = this.firstDay; d < lastDay; d++) this.dayText.push(new Date(d * MS_PER_DAY).toISOString().slice(0, 10));
    for (let m = firstMonth - 24; m < lastMonth + 72; m++) {
      this.monthTextCache.push(`${Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, '0')}`);
    }
    const start = this.monthStart(firstMonth);
    const end = this.monthStart(lastMonth + 1);
    // 1970-01-01 was a Thursday: day 4 is the first Monday.
    for (let m = firstMonth; m <= lastMonth; m++) this.weeks.push([]);
    for (let d = start + ((((4 - start) % 7) + 7) % 7); d < end; d += 7) this.weeks[this.monthOf(d) - firstMonth]!.push(d);
  }

  /** The Mondays (first days of the weeks) that fall in a month. */
  weeksOf(month: number): readonly number[] {
    return this.weeks[month - this.firstMonth] ?? [];
  }

  /** The first day of a month. */
  monthStart(month: number): number {
    return Date.UTC(Math.floor(month / 12), month % 12, 1) / MS_PER_DAY;
  }

  daysIn(month: number): number {
    return this.monthStart(month + 1) - this.monthStart(month);
  }

  monthOf(day: number): number {
    const d = new Date(day * MS_PER_DAY);
    return d.getUTCFullYear() * 12 + d.getUTCMonth();
  }

  /** The same day of the month `months` later (clamped to the month's length). */
  addMonths(day: number, months: number): number {
    const d = new Date(day * MS_PER_DAY);
    const m = d.getUTCFullYear() * 12 + d.getUTCMonth() + months;
    const dom = Math.min(d.getUTCDate(), this.daysIn(m));
    return this.monthStart(m) + dom - 1;
  }

  /** YYYY-MM-DD */
  date(day: number): string {
    return this.dayText[day - this.firstDay] ?? new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
  }

  /** YYYY-MM */
  month(month: number): string {
    return this.monthTextCache[month - (this.firstMonth - 24)]!;
  }
}
