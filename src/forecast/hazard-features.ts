import type { Columns } from '../drivers/driver.js';
import type { EventKind, HazardModel } from './hazard-model.js';

/** One account × month-end of `forecast_rows`, as numbers (money as read, for the model only). */
export interface ForecastRow {
  readonly month: number;
  readonly account_id: string;
  /** Ledger MRR at the month's end, as the exact text the engine computed. */
  readonly mrr_text: string;
  readonly mrr: number;
  readonly group: string | null;
  readonly raw: Readonly<Record<string, number | null>>;
  readonly sources: ReadonlySet<string>;
  readonly next: EventKind | null;
  /** For a contraction or expansion next month: |after − before| ÷ before. */
  readonly next_fraction: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v));

/**
 * The rows of `forecast_rows` (forecast-features-sql.ts), read by column, as ForecastRows. Accounts
 * share a few combinations of signal files: each combination is one set.
 */
export function toForecastRows(c: Columns): ForecastRow[] {
  const col = (k: string): readonly unknown[] => c[k] ?? [];
  const month = col('month_index');
  const id = col('account_id');
  const mrr = col('ledger_mrr');
  const group = col('group_value');
  const sources = col('signal_sources');
  const nextCategory = col('next_category');
  const before = col('next_mrr_before');
  const after = col('next_mrr_after');
  const raws = RAW_COLUMNS.map(col);
  const sourceSets = new Map<string, ReadonlySet<string>>();
  const out = new Array<ForecastRow>(month.length);
  for (let i = 0; i < month.length; i++) {
    const list = (sources[i] as string[] | null) ?? [];
    const key = list.join(',');
    let set = sourceSets.get(key);
    if (!set) sourceSets.set(key, (set = new Set(list)));
    const raw: Record<string, number | null> = {};
    for (let j = 0; j < RAW_COLUMNS.length; j++) raw[RAW_COLUMNS[j]!] = num(raws[j]![i]);
    const mrrText = String(mrr[i]);
    const next = (nextCategory[i] ?? null) as EventKind | null;
    const b = num(before[i]);
    const a = num(after[i]);
    out[i] = {
      month: Number(month[i]),
      account_id: String(id[i]),
      mrr_text: mrrText,
      mrr: Number(mrrText),
      group: group[i] === null || group[i] === undefined ? null : String(group[i]),
      raw,
      sources: set,
      next,
      next_fraction: next !== null && next !== 'churn' && b !== null && a !== null && b > 0 ? Math.abs(a - b) / b : null,
    };
  }
  return out;
}

const RAW_COLUMNS = [
  'days_to_renewal', 'monthly_terms', 'tenure_months', 'seat_utilisation', 'months_above_80', 'users_30d', 'usage_trend_90d', 'usage_trend_30d',
  'feature_breadth', 'activation_achieved', 'qbr_completion_12m', 'reviews_missed_180d', 'sponsor_present', 'days_since_sponsor_engaged',
  'sponsor_changes_12m', 'tickets_90d', 'escalations_90d', 'ticket_trend_90d', 'open_tickets', 'headcount_change_12m',
  'open_expansion_opportunities', 'mrr_change_90d', 'days_since_funding',
] as const;

const clip = (x: number | null, lo: number, hi: number): number | null => (x === null ? null : Math.min(hi, Math.max(lo, x)));
const pct = (x: number): string => `${Math.round(x * 100)} %`;

/**
 * Days to renewal `steps` months after the row's day: a term that renews within the horizon is
 * taken to renew for another year.
 */
export function daysToRenewalAfter(days: number | null, steps: number): number | null {
  if (days === null) return null;
  let d = days - 30 * steps;
  while (d < 0) d += 365;
  return d;
}

/** One model feature: its value on a row `steps` months after the row's day, its signal file, and its words. */
interface FeatureSpec {
  readonly name: string;
  /** The signal file behind it (an account with no rows there has it unknown), or null for billing. */
  readonly source: string | null;
  value(r: ForecastRow, steps: number): number | null;
  /** Words for a reason, from the row's values. */
  words(r: ForecastRow, steps: number, higher: boolean): string;
}

const raw = (k: (typeof RAW_COLUMNS)[number]) => (r: ForecastRow) => r.raw[k] ?? null;

export const FEATURES: readonly FeatureSpec[] = [
  { name: 'log_mrr', source: null, value: (r) => Math.log1p(Math.max(0, r.mrr)), words: (r, _s, hi) => `${hi ? 'a large' : 'a small'} account (MRR ${r.mrr.toFixed(0)})` },
  { name: 'log_tenure', source: null, value: (r) => Math.log1p(Math.max(0, raw('tenure_months')(r) ?? 0)), words: (r) => `customer for ${raw('tenure_months')(r) ?? 0} months` },
  {
    name: 'renewal_within_month', source: null,
    value: (r, s) => { const d = daysToRenewalAfter(raw('days_to_renewal')(r), s); return d !== null && d <= 31 ? 1 : 0; },
    words: (r, _s, hi) => (hi ? `renewal in ${daysToRenewalAfter(raw('days_to_renewal')(r), 0)} days` : 'no renewal within a month'),
  },
  {
    name: 'renewal_in_2_3_months', source: null,
    value: (r, s) => { const d = daysToRenewalAfter(raw('days_to_renewal')(r), s); return d !== null && d > 31 && d <= 92 ? 1 : 0; },
    words: (r, _s, hi) => (hi ? `renewal in ${daysToRenewalAfter(raw('days_to_renewal')(r), 0)} days` : 'no renewal in 2–3 months'),
  },
  { name: 'monthly_terms', source: null, value: raw('monthly_terms'), words: (_r, _s, hi) => (hi ? 'monthly terms: can leave any month' : 'on a term contract') },
  { name: 'seat_utilisation', source: 'seats', value: (r) => clip(raw('seat_utilisation')(r), 0, 2), words: (r) => `seat utilisation ${pct(raw('seat_utilisation')(r) ?? 0)}` },
  { name: 'months_above_80', source: 'seats', value: raw('months_above_80'), words: (r) => `${raw('months_above_80')(r) ?? 0} months above 80 % of seats` },
  { name: 'log_users_30d', source: 'product_usage', value: (r) => { const u = raw('users_30d')(r); return u === null ? null : Math.log1p(Math.max(0, u)); }, words: (r) => `${Math.round(raw('users_30d')(r) ?? 0)} weekly active users` },
  { name: 'usage_trend_90d', source: 'product_usage', value: (r) => clip(raw('usage_trend_90d')(r), -1, 3), words: (r) => usageWords(raw('usage_trend_90d')(r), '90 days') },
  { name: 'usage_trend_30d', source: 'product_usage', value: (r) => clip(raw('usage_trend_30d')(r), -1, 3), words: (r) => usageWords(raw('usage_trend_30d')(r), '30 days') },
  { name: 'feature_breadth', source: 'product_usage', value: raw('feature_breadth'), words: (r) => `feature breadth ${pct(raw('feature_breadth')(r) ?? 0)}` },
  { name: 'activation_missed', source: 'onboarding', value: (r) => (raw('activation_achieved')(r) === 0 ? 1 : 0), words: (_r, _s, hi) => (hi ? 'activation milestone missed' : 'activated') },
  { name: 'qbr_completion_12m', source: 'meetings', value: raw('qbr_completion_12m'), words: (r) => `${pct(raw('qbr_completion_12m')(r) ?? 0)} of business reviews held in 12 months` },
  { name: 'reviews_missed_180d', source: 'meetings', value: (r) => clip(raw('reviews_missed_180d')(r), 0, 6), words: (r) => `${raw('reviews_missed_180d')(r) ?? 0} business reviews missed in 180 days` },
  { name: 'no_sponsor', source: 'contacts', value: (r) => (raw('sponsor_present')(r) === 1 ? 0 : 1), words: (_r, _s, hi) => (hi ? 'no executive sponsor' : 'an executive sponsor in place') },
  { name: 'sponsor_quiet_90d', source: 'contacts', value: (r) => ((raw('days_since_sponsor_engaged')(r) ?? 0) > 90 ? 1 : 0), words: (r, _s, hi) => (hi ? `sponsor not engaged for ${raw('days_since_sponsor_engaged')(r)} days` : 'sponsor engaged lately') },
  { name: 'sponsor_changes_12m', source: 'contacts', value: (r) => clip(raw('sponsor_changes_12m')(r), 0, 4), words: (r) => `${raw('sponsor_changes_12m')(r) ?? 0} sponsor changes in 12 months` },
  { name: 'log_tickets_90d', source: 'tickets', value: (r) => { const t = raw('tickets_90d')(r); return t === null ? null : Math.log1p(t); }, words: (r) => `${raw('tickets_90d')(r) ?? 0} support tickets in 90 days` },
  { name: 'escalations_90d', source: 'tickets', value: (r) => clip(raw('escalations_90d')(r), 0, 5), words: (r) => `${raw('escalations_90d')(r) ?? 0} escalations in 90 days` },
  { name: 'ticket_trend_90d', source: 'tickets', value: (r) => clip(raw('ticket_trend_90d')(r), -1, 3), words: (r) => `tickets ${(raw('ticket_trend_90d')(r) ?? 0) >= 0 ? 'up' : 'down'} ${pct(Math.abs(raw('ticket_trend_90d')(r) ?? 0))} on the 90 days before` },
  { name: 'open_tickets', source: 'tickets', value: (r) => clip(raw('open_tickets')(r), 0, 10), words: (r) => `${raw('open_tickets')(r) ?? 0} open tickets` },
  { name: 'headcount_change_12m', source: 'enrichment', value: (r) => clip(raw('headcount_change_12m')(r), -1, 2), words: (r) => `headcount ${(raw('headcount_change_12m')(r) ?? 0) >= 0 ? 'up' : 'down'} ${pct(Math.abs(raw('headcount_change_12m')(r) ?? 0))} in 12 months` },
  { name: 'funded_12m', source: 'enrichment', value: (r) => { const d = raw('days_since_funding')(r); return d !== null && d <= 365 ? 1 : 0; }, words: (_r, _s, hi) => (hi ? 'raised funding in the last 12 months' : 'no funding in the last 12 months') },
  { name: 'open_expansion_opportunities', source: 'opportunities', value: (r) => clip(raw('open_expansion_opportunities')(r), 0, 5), words: (r) => `${raw('open_expansion_opportunities')(r) ?? 0} open expansion opportunities` },
  { name: 'mrr_change_90d', source: null, value: (r) => clip(raw('mrr_change_90d')(r), -1, 2), words: (r) => { const c = raw('mrr_change_90d')(r) ?? 0; return `contracted MRR ${c >= 0 ? 'up' : 'down'} ${pct(Math.abs(c))} in 90 days`; } },
];

function usageWords(trend: number | null, window: string): string {
  const t = trend ?? 0;
  return `active users ${t >= 0 ? 'up' : 'down'} ${pct(Math.abs(t))} over ${window}`;
}

/** The signal files whose absence is a feature of its own (an account without rows there). */
export const SOURCE_INDICATORS = ['product_usage', 'seats', 'meetings', 'contacts', 'tickets', 'enrichment'] as const;

/**
 * How rows become model inputs: the features' training means and spreads (an unknown value is
 * the training mean, so it adds nothing), an indicator per missing signal file, and one column per
 * frequent group value. Column 0 is the intercept.
 */
export interface Design {
  readonly names: readonly string[];
  readonly mean: Float64Array;
  readonly sd: Float64Array;
  readonly groups: readonly string[];
  readonly sources: readonly string[];
}

/** The design from the training rows: standardisation, the signal files present at all, the group values with at least 1 % of rows. */
export function makeDesign(rows: readonly ForecastRow[], filesWithRows: ReadonlySet<string>): Design {
  const F = FEATURES.length;
  const mean = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let j = 0; j < F; j++) {
    let n = 0;
    let s = 0;
    let s2 = 0;
    for (const r of rows) {
      const v = rowValues(r)[j]!;
      if (Number.isNaN(v)) continue;
      n++;
      s += v;
      s2 += v * v;
    }
    mean[j] = n > 0 ? s / n : 0;
    const variance = n > 1 ? (s2 - (s * s) / n) / (n - 1) : 0;
    sd[j] = variance > 1e-12 ? Math.sqrt(variance) : 0;
  }
  const counts = new Map<string, number>();
  for (const r of rows) if (r.group !== null) counts.set(r.group, (counts.get(r.group) ?? 0) + 1);
  const frequent = [...counts].filter(([, c]) => c >= 0.01 * rows.length).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  // The most frequent value is the reference level.
  const groups = frequent.slice(1).map(([g]) => g).sort();
  const sources = SOURCE_INDICATORS.filter((s) => filesWithRows.has(s));
  const names = ['intercept', ...FEATURES.map((f) => f.name), ...sources.map((s) => `no_${s}_rows`), ...groups.map((g) => `group=${g}`)];
  return { names, mean, sd, groups, sources };
}

function computeFeature(j: number, r: ForecastRow, steps: number): number | null {
  const f = FEATURES[j]!;
  if (f.source !== null && !r.sources.has(f.source)) return null;
  const v = f.value(r, steps);
  return v === null || !Number.isFinite(v) ? null : v;
}

/** The features whose value changes with the months simulated ahead (the renewal ones). */
const STEP_FEATURES = FEATURES.map((f, j) => (f.name.startsWith('renewal_') ? j : -1)).filter((j) => j >= 0);
/** Each row's feature values at its own day (NaN: unknown), computed once: every fit, replay and simulated month reads them. */
const valuesAtDay = new WeakMap<ForecastRow, Float64Array>();

function rowValues(r: ForecastRow): Float64Array {
  let v = valuesAtDay.get(r);
  if (!v) {
    v = new Float64Array(FEATURES.length);
    for (let j = 0; j < FEATURES.length; j++) v[j] = computeFeature(j, r, 0) ?? Number.NaN;
    valuesAtDay.set(r, v);
  }
  return v;
}

/** Writes a row's inputs `steps` months after its day into `out` at `offset`. */
export function encodeRow(design: Design, r: ForecastRow, steps: number, out: Float64Array, offset: number): void {
  out[offset] = 1;
  const F = FEATURES.length;
  const values = rowValues(r);
  for (let j = 0; j < F; j++) {
    const v = values[j]!;
    out[offset + 1 + j] = Number.isNaN(v) || design.sd[j] === 0 ? 0 : (v - design.mean[j]!) / design.sd[j]!;
  }
  if (steps !== 0) {
    for (const j of STEP_FEATURES) {
      const v = computeFeature(j, r, steps);
      out[offset + 1 + j] = v === null || design.sd[j] === 0 ? 0 : (v - design.mean[j]!) / design.sd[j]!;
    }
  }
  let c = offset + 1 + F;
  for (const s of design.sources) out[c++] = r.sources.has(s) ? 0 : 1;
  for (const g of design.groups) out[c++] = r.group === g ? 1 : 0;
}

/** The width of an encoded row. */
export const designWidth = (d: Design): number => d.names.length;

/**
 * Reasons in words for an event: the inputs that push its log-odds up the most against an average
 * account (coefficient × standardised value), largest first, at most `count`, each adding at least
 * 0.1 to the log-odds.
 */
export function reasonsFor(model: HazardModel, eventIndex: number, design: Design, r: ForecastRow, count = 3): string[] {
  const x = new Float64Array(designWidth(design));
  encodeRow(design, r, 0, x, 0);
  const coef = model.coef[eventIndex]!;
  const parts: { w: number; text: string }[] = [];
  for (let j = 0; j < FEATURES.length; j++) {
    const c = coef[1 + j]! * x[1 + j]!;
    if (c >= 0.1) parts.push({ w: c, text: FEATURES[j]!.words(r, 0, x[1 + j]! > 0) });
  }
  design.sources.forEach((s, i) => {
    const at = 1 + FEATURES.length + i;
    const c = coef[at]! * x[at]!;
    if (c >= 0.1) parts.push({ w: c, text: `no ${s.replace('_', ' ')} data` });
  });
  design.groups.forEach((g, i) => {
    const at = 1 + FEATURES.length + design.sources.length + i;
    const c = coef[at]! * x[at]!;
    if (c >= 0.1) parts.push({ w: c, text: `in ${g}` });
  });
  return parts.sort((a, b) => b.w - a.w).slice(0, count).map((p) => p.text);
}
