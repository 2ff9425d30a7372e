// Columns for rows whose attributes vary by workspace (movements and cohort accounts carry every
// account attribute): known keys get their format, the rest are shown as text.
import type { Column } from './data-table.js';
import { esc } from './dom.js';
import { count, money, pct } from './format.js';

const MONEY_KEYS = /(^|_)(mrr|arr|amount|delta|fx|revenue|loss)(_|$)/;
const RATIO_KEYS = /(retention|probability|share|nrr|grr)/;

/** One column per key of the rows (in the first row's order), minus `skip`. */
export function attributeColumns(rows: readonly Record<string, unknown>[], skip: readonly string[]): Column<Record<string, unknown>>[] {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !skip.includes(k));
  return keys.map((k) => {
    const isMoney = MONEY_KEYS.test(k);
    const isRatio = !isMoney && RATIO_KEYS.test(k);
    return {
      label: k.replace(/_/g, ' '),
      num: isMoney || isRatio,
      html: (r) => {
        const v = r[k];
        if (v === null || v === undefined) return '';
        if (isMoney && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return money(v);
        if (isRatio && typeof v === 'number') return pct(v);
        if (typeof v === 'number') return count(v);
        return esc(typeof v === 'object' ? JSON.stringify(v) : v);
      },
      csv: (r) => {
        const v = r[k];
        return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
      },
    };
  });
}
