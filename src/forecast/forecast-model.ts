import { EVENTS, IDENTITY_PLATT, applyPlatt, fitHazard, fitPlatt, predictRow, type EventKind, type HazardModel, type Platt } from './hazard-model.js';
import { daysToRenewalAfter, designWidth, encodeRow, makeDesign, reasonsFor, type Design, type ForecastRow } from './hazard-features.js';

/** Below these, the hazard model is not fitted and segment × time-to-renewal rates are used instead. */
export const MIN_TRAINING_MONTHS = 6;
export const MIN_CHURN_EVENTS = 30;
/** Months at the end of the training window that calibrate the model fitted on the months before. */
export const CALIBRATION_MONTHS = 3;
/** A non-event row is kept in training with this probability (weight 1 ÷ it); events are all kept. */
export const NON_EVENT_SAMPLE = 0.3;

/** What the simulation needs from a fitted model, whichever kind it is. */
export interface Predictor {
  readonly method: 'hazard_model' | 'segment_renewal_rates';
  /** [churn, contraction, expansion] probabilities of an event in the month `steps` months after the row's day. */
  probabilities(r: ForecastRow, steps: number): [number, number, number];
  /** Why the account may churn, in words. */
  reasons(r: ForecastRow): string[];
  /** Why it may expand, in words. */
  expansionReasons(r: ForecastRow): string[];
  /** Spread of the common shock per event kind (see SimInput.shock). */
  readonly shock: readonly [number, number, number];
  /**
   * How much wider (> 1) or narrower (< 1) the simulated interval must be made to match how much the
   * training months' NRR actually varied around what the model expected of them (see spreadScale).
   */
  readonly spread_scale: number;
  /** Fractions lost or gained by size group, and each account's size group. */
  readonly sizes: readonly { readonly group: string; readonly contraction: readonly number[]; readonly expansion: readonly number[] }[];
  sizeGroup(r: ForecastRow): number;
  /** Account-months and events the fit rested on. */
  readonly training: { readonly months: number; readonly rows: number; readonly churn: number; readonly contraction: number; readonly expansion: number };
  readonly calibration: { readonly method: 'platt' | 'none'; readonly months: number; readonly rows: number };
  readonly notes: readonly string[];
}

/** A deterministic pseudo-random number in [0, 1) from a text (which non-event rows are sampled). */
function hashUnit(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return ((h ^ (h >>> 12)) >>> 0) / 4294967296;
}

const eventIndex = (e: EventKind | null): number => (e === null ? 0 : EVENTS.indexOf(e) + 1);

function encodeTraining(design: Design, rows: readonly ForecastRow[]): { x: Float64Array; y: Uint8Array; w: Float64Array; width: number } {
  const kept = rows.filter((r) => r.next !== null || hashUnit(`${r.account_id}|${r.month}`) < NON_EVENT_SAMPLE);
  const width = designWidth(design);
  const x = new Float64Array(kept.length * width);
  const y = new Uint8Array(kept.length);
  const w = new Float64Array(kept.length);
  kept.forEach((r, i) => {
    encodeRow(design, r, 0, x, i * width);
    y[i] = eventIndex(r.next);
    w[i] = r.next === null ? 1 / NON_EVENT_SAMPLE : 1;
  });
  return { x, y, w, width };
}

/**
 * The fractions of one kind of event, resampled in proportion to the MRR they moved from
 * (systematic resampling into at most 2,000 values): NRR weighs accounts by MRR, and small accounts'
 * larger fractions drawn for large accounts would overstate the money that moves.
 */
export function moneyWeightedSizes(events: readonly { readonly mrr: number; readonly fraction: number }[], count = 2000): number[] {
  const total = events.reduce((s, e) => s + Math.max(0, e.mrr), 0);
  if (events.length === 0 || !(total > 0)) return events.map((e) => e.fraction);
  const n = Math.min(count, Math.max(events.length, 200));
  const out: number[] = [];
  let cumulative = 0;
  let next = 0.5;
  for (const e of events) {
    cumulative += (Math.max(0, e.mrr) / total) * n;
    while (next < cumulative && out.length < n) {
      out.push(e.fraction);
      next += 1;
    }
  }
  return out;
}

/** Sizes of contraction and expansion by group, pooled for a group with fewer than 20 of either. */
function sizeModel(rows: readonly ForecastRow[]): { sizes: Predictor['sizes']; index: Map<string | null, number> } {
  const pick = (list: readonly ForecastRow[], e: EventKind): number[] =>
    moneyWeightedSizes(list.filter((r) => r.next === e && r.next_fraction !== null).map((r) => ({ mrr: r.mrr, fraction: r.next_fraction! })));
  const all = { group: 'all', contraction: pick(rows, 'contraction'), expansion: pick(rows, 'expansion') };
  const sizes = [all];
  const index = new Map<string | null, number>();
  const groups = [...new Set(rows.map((r) => r.group))].filter((g): g is string => g !== null).sort();
  for (const g of groups) {
    const mine = rows.filter((r) => r.group === g);
    const count = (e: EventKind): number => mine.filter((r) => r.next === e && r.next_fraction !== null).length;
    if (count('contraction') >= 20 && count('expansion') >= 20) {
      index.set(g, sizes.length);
      sizes.push({ group: g, contraction: pick(mine, 'contraction'), expansion: pick(mine, 'expansion') });
    }
  }
  return { sizes, index };
}

/**
 * The common shock's spread from the training months: how much more the monthly event counts vary
 * around their expected values than chance alone (Poisson) would make them.
 */
function shockSpread(rows: readonly ForecastRow[], prob: (r: ForecastRow) => [number, number, number]): [number, number, number] {
  const byMonth = new Map<number, { o: number[]; e: number[] }>();
  for (const r of rows) {
    let m = byMonth.get(r.month);
    if (!m) byMonth.set(r.month, (m = { o: [0, 0, 0], e: [0, 0, 0] }));
    const p = prob(r);
    for (let k = 0; k < 3; k++) {
      m.e[k]! += p[k]!;
      if (r.next === EVENTS[k]) m.o[k]! += 1;
    }
  }
  const months = [...byMonth.values()];
  return [0, 1, 2].map((k) => {
    if (months.length < 3) return 0.25;
    const logs = months.map((m) => Math.log((m.o[k]! + 1) / (m.e[k]! + 1)));
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const variance = logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1);
    const chance = months.reduce((a, m) => a + 1 / (m.e[k]! + 1), 0) / months.length;
    return Math.sqrt(Math.max(0, variance - chance));
  }) as [number, number, number];
}

/**
 * The interval's scale from the training months: for each month-end t with t + H in the training
 * window, the actual NRR of its cohort over H months against the model's expectation, next to the
 * spread the simulation implies for it. Both are taken exactly as the simulation takes them: month k
 * of the H uses the probabilities `prob(r, k)` (a renewal falls in the month it falls in, not in
 * every month), each account's expected monthly changes compound, and the implied variance is the
 * accounts' independent monthly variances plus the common shock's (a multiplier of variance
 * exp(σ²) − 1 on each event kind's expected money, whole-cohort). The ratio of the observed spread to
 * the implied one, between 0.25 and 4; 1 with fewer than 6 such windows.
 * Revenue that swings and comes back (usage) makes the simulated spread grow faster with the
 * horizon than the real one; this puts it back to what the history showed.
 * (Taking the month-0 probabilities for all H months, as this once did, put every renewal in every
 * month: the expectation of each training cohort was off by its renewal mix, which widened the
 * observed spread by 6–25 % on the demo and the interval with it.)
 */
export function spreadScale(
  rows: readonly ForecastRow[],
  prob: (r: ForecastRow, steps: number) => [number, number, number],
  sizes: Predictor['sizes'],
  sizeGroup: (r: ForecastRow) => number,
  horizonMonths: number,
  shock: readonly [number, number, number] = [0, 0, 0],
): number {
  const moments = sizes.map((s) => {
    const m = (xs: readonly number[], f: (x: number) => number): number => (xs.length ? xs.reduce((a, x) => a + f(x), 0) / xs.length : 0);
    return { c1: m(s.contraction, (x) => x), c2: m(s.contraction, (x) => x * x), e1: m(s.expansion, (x) => x), e2: m(s.expansion, (x) => x * x) };
  });
  const shockVariance = shock.map((sigma) => Math.exp(sigma * sigma) - 1);
  const byMonth = new Map<number, ForecastRow[]>();
  for (const r of rows) {
    if (!byMonth.has(r.month)) byMonth.set(r.month, []);
    byMonth.get(r.month)!.push(r);
  }
  const residuals: number[] = [];
  const implied: number[] = [];
  for (const [t, cohort] of byMonth) {
    const later = byMonth.get(t + horizonMonths);
    if (!later) continue;
    const after = new Map(later.map((r) => [r.account_id, r.mrr]));
    let start = 0;
    let actual = 0;
    let expected = 0;
    let variance = 0;
    // The cohort's expected money moved by each event kind over H (what the common shock multiplies).
    const kindMoney = [0, 0, 0];
    for (const r of cohort) {
      const k = moments[sizeGroup(r)]!;
      let growth = 1;
      for (let step = 0; step < horizonMonths; step++) {
        const [pc, po, pe] = prob(r, step);
        const mean = pe * k.e1 - po * k.c1 - pc;
        variance += r.mrr * r.mrr * (pe * k.e2 + po * k.c2 + pc - mean * mean);
        kindMoney[0]! += r.mrr * pc;
        kindMoney[1]! += r.mrr * po * k.c1;
        kindMoney[2]! += r.mrr * pe * k.e1;
        growth *= 1 + mean;
      }
      start += r.mrr;
      actual += after.get(r.account_id) ?? 0;
      expected += r.mrr * growth;
    }
    if (start <= 0) continue;
    for (let j = 0; j < 3; j++) variance += shockVariance[j]! * kindMoney[j]! ** 2;
    residuals.push((actual - expected) / start);
    implied.push(variance / (start * start));
  }
  if (residuals.length < 6) return 1;
  const mean = residuals.reduce((a, b) => a + b, 0) / residuals.length;
  const observed = residuals.reduce((a, b) => a + (b - mean) ** 2, 0) / (residuals.length - 1);
  const model = implied.reduce((a, b) => a + b, 0) / implied.length;
  if (!(model > 0)) return 1;
  return Math.min(4, Math.max(0.25, Math.sqrt(observed / model)));
}

function counts(rows: readonly ForecastRow[]): Predictor['training'] {
  const months = new Set(rows.map((r) => r.month)).size;
  const n = (e: EventKind): number => rows.filter((r) => r.next === e).length;
  return { months, rows: rows.length, churn: n('churn'), contraction: n('contraction'), expansion: n('expansion') };
}

/**
 * Fits what the forecast draws from, on training rows whose next month was over when the forecast
 * is made: the hazard model with Platt calibration on the last CALIBRATION_MONTHS months, or, with
 * fewer than MIN_TRAINING_MONTHS months or MIN_CHURN_EVENTS churn events, segment × time-to-renewal
 * rates with a wider shock.
 */
export function fitPredictor(rows: readonly ForecastRow[], filesWithRows: ReadonlySet<string>, options: { lambda?: number; horizonMonths?: number } = {}): Predictor {
  const training = counts(rows);
  const { sizes, index } = sizeModel(rows);
  const sizeGroup = (r: ForecastRow): number => index.get(r.group) ?? 0;
  if (training.months < MIN_TRAINING_MONTHS || training.churn < MIN_CHURN_EVENTS) return fallbackPredictor(rows, training, sizes, sizeGroup, options.horizonMonths ?? 3);

  const months = [...new Set(rows.map((r) => r.month))].sort((a, b) => a - b);
  const calibrate = months.length >= MIN_TRAINING_MONTHS + CALIBRATION_MONTHS;
  const cut = calibrate ? months[months.length - CALIBRATION_MONTHS]! : Number.POSITIVE_INFINITY;
  const fitRows = rows.filter((r) => r.month < cut);
  const calRows = rows.filter((r) => r.month >= cut);
  const design = makeDesign(fitRows, filesWithRows);
  const model: HazardModel = fitHazard({ ...encodeTraining(design, fitRows) }, { lambda: options.lambda ?? 2 });
  const width = designWidth(design);
  const buf = new Float64Array(width);
  const rawProbs = (r: ForecastRow, steps: number): [number, number, number] => {
    encodeRow(design, r, steps, buf, 0);
    const p = predictRow(model, buf);
    return [p[1], p[2], p[3]];
  };
  let platt: Platt[] = [IDENTITY_PLATT, IDENTITY_PLATT, IDENTITY_PLATT];
  if (calibrate) {
    const pr = calRows.map((r) => rawProbs(r, 0));
    platt = [0, 1, 2].map((k) => {
      const events = calRows.filter((r) => r.next === EVENTS[k]).length;
      return events >= 10 ? fitPlatt(pr.map((p) => p[k]!), calRows.map((r) => r.next === EVENTS[k]), calRows.map(() => 1)) : IDENTITY_PLATT;
    });
  }
  const probabilities = (r: ForecastRow, steps: number): [number, number, number] => {
    const p = rawProbs(r, steps).map((v, k) => applyPlatt(platt[k]!, v));
    const total = p[0]! + p[1]! + p[2]!;
    // Calibrated separately, the three may add up past 1: scaled back so that "nothing" keeps ≥ 0.
    return (total > 0.999 ? p.map((v) => (v * 0.999) / total) : p) as [number, number, number];
  };
  const shock = shockSpread(rows, (r) => probabilities(r, 0));
  const notes = [
    ...(model.converged ? [] : [`the hazard model did not converge in ${model.iterations} Newton steps; its probabilities are approximate`]),
    ...(calibrate ? [] : [`too little history to calibrate on a later window (${months.length} months): probabilities are the model's own`]),
  ];
  return {
    method: 'hazard_model',
    probabilities,
    reasons: (r) => reasonsFor(model, 0, design, r),
    expansionReasons: (r) => reasonsFor(model, 2, design, r),
    shock,
    spread_scale: spreadScale(rows, probabilities, sizes, sizeGroup, options.horizonMonths ?? 3, shock),
    sizes,
    sizeGroup,
    training,
    calibration: { method: calibrate ? 'platt' : 'none', months: calibrate ? CALIBRATION_MONTHS : 0, rows: calRows.length },
    notes,
  };
}

/** Renewal bucket of a row `steps` months on: within a month, in 2–3 months, or later / none. */
function renewalBucket(r: ForecastRow, steps: number): string {
  const d = daysToRenewalAfter(r.raw['days_to_renewal'] ?? null, steps);
  return d === null ? 'no term' : d <= 31 ? 'renewal within a month' : d <= 92 ? 'renewal in 2–3 months' : 'renewal later';
}

/** Segment × time-to-renewal event rates, shrunk towards the overall rate (20 account-months' worth). */
function fallbackPredictor(rows: readonly ForecastRow[], training: Predictor['training'], sizes: Predictor['sizes'], sizeGroup: (r: ForecastRow) => number, horizonMonths: number): Predictor {
  const overall = [0, 1, 2].map((k) => (rows.filter((r) => r.next === EVENTS[k]).length + 0.5) / (rows.length + 1));
  const cells = new Map<string, { n: number; e: number[] }>();
  for (const r of rows) {
    const key = `${r.group}|${renewalBucket(r, 0)}`;
    let c = cells.get(key);
    if (!c) cells.set(key, (c = { n: 0, e: [0, 0, 0] }));
    c.n++;
    const k = eventIndex(r.next) - 1;
    if (k >= 0) c.e[k]! += 1;
  }
  const prior = 20;
  const probabilities = (r: ForecastRow, steps: number): [number, number, number] => {
    const c = cells.get(`${r.group}|${renewalBucket(r, steps)}`);
    return [0, 1, 2].map((k) => ((c?.e[k] ?? 0) + prior * overall[k]!) / ((c?.n ?? 0) + prior)) as [number, number, number];
  };
  const events = [training.churn, training.contraction, training.expansion];
  const base = rows.length > 0 ? shockSpread(rows, (r) => probabilities(r, 0)) : [0, 0, 0];
  // Wider: the rates' own uncertainty on top of the common shock, and never below 0.25.
  const shock = [0, 1, 2].map((k) => Math.max(0.25, Math.sqrt(base[k]! ** 2 + 1 / (events[k]! + 1)))) as [number, number, number];
  return {
    method: 'segment_renewal_rates',
    probabilities,
    reasons: (r) => [`${r.group ?? 'all accounts'}, ${renewalBucket(r, 0)}: the rate of such accounts`],
    expansionReasons: (r) => [`${r.group ?? 'all accounts'}, ${renewalBucket(r, 0)}: the rate of such accounts`],
    shock,
    // No narrowing from a thin history.
    spread_scale: Math.max(1, spreadScale(rows, probabilities, sizes, sizeGroup, horizonMonths, shock)),
    sizes,
    sizeGroup,
    training,
    calibration: { method: 'none', months: 0, rows: 0 },
    notes: [
      `thin history (${training.months} months, ${training.churn} churn events; the model needs ${MIN_TRAINING_MONTHS} months and ${MIN_CHURN_EVENTS} churn events): ` +
        'probabilities are segment × time-to-renewal rates, and the intervals are wider',
    ],
  };
}
