import { NrrError } from '../errors.js';
import { Random } from '../generate/random.js';

/**
 * How well a score ranks outcomes: ROC AUC and lift, with the number of cases behind them and a
 * 95 % bootstrap interval, and a verdict only when there are enough cases to give one. Higher scores
 * are meant to mean "more likely".
 */
export interface Scored01 {
  readonly score: number;
  readonly positive: boolean;
}

/** A scored observation of one account (its cluster): the same account may be seen at many snapshots. */
export interface ClusteredScore extends Scored01 {
  readonly cluster: number;
}

/**
 * Below this many cases of either outcome (positives or negatives), figures are printed with their
 * counts and intervals but no verdict is drawn from them.
 */
export const MIN_EVENTS = 20;

/** Bootstrap resamples behind every interval, unless told otherwise. */
export const DEFAULT_RESAMPLES = 1000;
/** The bootstrap's seed: the same data give the same interval on every run. */
export const DEFAULT_SEED = 1;

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly seed?: number;
}

/** How many times a resample drew each cluster (1 each for the observed sample). */
export type Weights = Uint32Array;

/**
 * ROC AUC by the Mann–Whitney statistic (ties count half); null without both outcomes.
 * @example rocAuc([{ score: 1, positive: true }, { score: 0, positive: false }]) // 1
 */
export function rocAuc(points: readonly Scored01[]): number | null {
  return weightedAuc(rankPoints(points, null), new Uint32Array(points.length).fill(1));
}

/**
 * Lift of the top `share` of scores: their positive rate ÷ the overall rate. Ties at the cut are
 * broken by order of appearance, so the top group has exactly ⌈share × n⌉ members.
 */
export function lift(points: readonly Scored01[], share = 0.1): number | null {
  return weightedLift(rankPoints(points, null), new Uint32Array(points.length).fill(1), share);
}

/**
 * Points sorted once, so that each bootstrap resample is one linear pass over them with the weight
 * of each one's cluster. A point is coded as cluster × 2 + (1 if positive).
 */
interface Ranked {
  /** The points by ascending score. */
  readonly ascending: Int32Array;
  /** Where each run of tied scores ends in `ascending` (exclusive), in order. */
  readonly tieEnds: Int32Array;
  /** The points by descending score, ties in order of appearance. */
  readonly descending: Int32Array;
  /** Per cluster: its points, and its positive ones. */
  readonly clusterPoints: Int32Array;
  readonly clusterPositives: Int32Array;
}

/** Sorts by counting over the distinct scores: stable, and fast on a million points. */
function rankPoints(points: readonly Scored01[], clusters: Int32Array | null): Ranked {
  const n = points.length;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) scores[i] = points[i]!.score;
  const distinct = scores.slice().sort();
  let u = 0;
  for (let k = 0; k < n; k++) if (k === 0 || distinct[k] !== distinct[u - 1]) distinct[u++] = distinct[k]!;
  const rank = new Int32Array(n);
  const ends = new Int32Array(u);
  for (let i = 0; i < n; i++) {
    let lo = 0;
    let hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (distinct[mid]! < scores[i]!) lo = mid + 1;
      else hi = mid;
    }
    rank[i] = lo;
    ends[lo]!++;
  }
  for (let r = 1; r < u; r++) ends[r]! += ends[r - 1]!;
  // Next free place of each rank: ascending after every lower rank, descending after every higher one.
  const nextAsc = new Int32Array(u);
  const nextDesc = new Int32Array(u);
  for (let r = 0; r < u; r++) {
    nextAsc[r] = r === 0 ? 0 : ends[r - 1]!;
    nextDesc[r] = n - ends[r]!;
  }
  let clusterCount = n;
  if (clusters !== null) {
    clusterCount = 0;
    for (let i = 0; i < n; i++) clusterCount = Math.max(clusterCount, clusters[i]! + 1);
  }
  const ascending = new Int32Array(n);
  const descending = new Int32Array(n);
  const clusterPoints = new Int32Array(clusterCount);
  const clusterPositives = new Int32Array(clusterCount);
  for (let i = 0; i < n; i++) {
    const c = clusters === null ? i : clusters[i]!;
    const positive = points[i]!.positive ? 1 : 0;
    ascending[nextAsc[rank[i]!]!++] = c * 2 + positive;
    descending[nextDesc[rank[i]!]!++] = c * 2 + positive;
    clusterPoints[c]!++;
    clusterPositives[c]! += positive;
  }
  return { ascending, tieEnds: ends, descending, clusterPoints, clusterPositives };
}

/** AUC of a weighted sample (a point of weight 2 counts twice): Σ over positives of the negatives below, ties half. */
function weightedAuc(r: Ranked, w: Weights): number | null {
  const { ascending, tieEnds } = r;
  let negBelow = 0;
  let sum = 0;
  let pos = 0;
  let start = 0;
  for (let g = 0; g < tieEnds.length; g++) {
    const end = tieEnds[g]!;
    let p = 0;
    let all = 0;
    for (let k = start; k < end; k++) {
      const code = ascending[k]!;
      const weight = w[code >> 1]!;
      all += weight;
      p += weight * (code & 1); // no branch: the outcomes are in no order within the run
    }
    const q = all - p;
    sum += p * (negBelow + q / 2);
    negBelow += q;
    pos += p;
    start = end;
  }
  return pos === 0 || negBelow === 0 ? null : sum / (pos * negBelow);
}

/** Lift of a weighted sample: the top ⌈share × total weight⌉ copies by score, ties in order of appearance. */
function weightedLift(r: Ranked, w: Weights, share: number): number | null {
  const { descending, clusterPoints, clusterPositives } = r;
  let total = 0;
  let positives = 0;
  for (let c = 0; c < w.length; c++) {
    total += w[c]! * clusterPoints[c]!;
    positives += w[c]! * clusterPositives[c]!;
  }
  if (total === 0 || positives === 0) return null;
  const size = Math.max(1, Math.ceil(total * share));
  let taken = 0;
  let hits = 0;
  for (let k = 0; k < descending.length && taken < size; k++) {
    const code = descending[k]!;
    const copies = Math.min(w[code >> 1]!, size - taken);
    taken += copies;
    if (code & 1) hits += copies;
  }
  return hits / size / (positives / total);
}

export interface Interval {
  readonly low: number | null;
  readonly high: number | null;
}

/**
 * 95 % percentile intervals by the cluster bootstrap: `clusters` accounts are drawn with
 * replacement, `resamples` times, from a seeded generator; each statistic gets each account's
 * weight (how many times it was drawn) and returns its figure on that resample, or null when it is
 * undefined there. All statistics see the same resamples. An interval is null when fewer than half
 * the resamples define its figure.
 * @example bootstrapIntervals(accounts, [(w) => weightedMean(w)], { resamples: 1000, seed: 1 })
 */
export function bootstrapIntervals(
  clusters: number,
  statistics: readonly ((clusterWeights: Weights) => number | null)[],
  options: BootstrapOptions = {},
): Interval[] {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 0 || resamples > 100_000) throw new NrrError(`--resamples: expected 0 to 100000, got ${resamples}`);
  if (clusters === 0 || resamples === 0) return statistics.map(() => ({ low: null, high: null }));
  const random = new Random(options.seed ?? DEFAULT_SEED);
  const weights: Weights = new Uint32Array(clusters);
  const values: number[][] = statistics.map(() => []);
  for (let b = 0; b < resamples; b++) {
    weights.fill(0);
    for (let k = 0; k < clusters; k++) weights[Math.floor(random.uniform() * clusters)]! += 1;
    statistics.forEach((statistic, s) => {
      const v = statistic(weights);
      if (v !== null && Number.isFinite(v)) values[s]!.push(v);
    });
  }
  return values.map((v) => {
    if (v.length < resamples / 2) return { low: null, high: null };
    v.sort((a, b) => a - b);
    return { low: quantile(v, 0.025), high: quantile(v, 0.975) };
  });
}

/** The q-quantile of sorted values, interpolating between the two nearest (Hyndman–Fan type 7). */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!);
}

/** Cluster ids as 0…k−1, in order of first appearance, and how many there are. */
export function clusterIndex<T>(keys: readonly T[]): { ids: Int32Array; count: number } {
  const seen = new Map<T, number>();
  const ids = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    let id = seen.get(keys[i]!);
    if (id === undefined) seen.set(keys[i]!, (id = seen.size));
    ids[i] = id;
  }
  return { ids, count: seen.size };
}

export interface RankingFigures {
  /** Cases of the outcome, of the other outcome, and all, behind the figures. */
  readonly positives: number;
  readonly negatives: number;
  readonly total: number;
  readonly auc: number | null;
  readonly auc_low: number | null;
  readonly auc_high: number | null;
  /** Positive rate of the top 10 % by score ÷ the overall rate. */
  readonly lift_top_decile: number | null;
  readonly lift_low: number | null;
  readonly lift_high: number | null;
  /** Whether there were at least MIN_EVENTS of each outcome, so that a verdict may be drawn. */
  readonly judged: boolean;
}

/**
 * AUC and top-decile lift with their counts and 95 % intervals (cluster bootstrap over accounts,
 * both figures from the same resamples).
 * @example rankingFigures(points).auc_low // the interval's lower end
 */
export function rankingFigures(points: readonly ClusteredScore[], options: BootstrapOptions = {}): RankingFigures {
  const { ids, count } = clusterIndex(points.map((p) => p.cluster));
  const ranked = rankPoints(points, ids);
  const positives = points.reduce((n, p) => n + (p.positive ? 1 : 0), 0);
  const negatives = points.length - positives;
  const [auc, lifted] = bootstrapIntervals(count, [(w) => weightedAuc(ranked, w), (w) => weightedLift(ranked, w, 0.1)], options);
  const observed: Weights = new Uint32Array(count).fill(1);
  return {
    positives,
    negatives,
    total: points.length,
    auc: weightedAuc(ranked, observed),
    auc_low: auc!.low,
    auc_high: auc!.high,
    lift_top_decile: weightedLift(ranked, observed, 0.1),
    lift_low: lifted!.low,
    lift_high: lifted!.high,
    judged: positives >= MIN_EVENTS && negatives >= MIN_EVENTS,
  };
}

/**
 * What the figures allow one to say: "too few … cases (N) to judge" below MIN_EVENTS, else whether
 * the AUC's interval lies above chance (0.5), below it, or around it.
 */
export function rankingVerdict(f: RankingFigures, outcome: string): string {
  if (f.positives < MIN_EVENTS) return `too few ${outcome} cases (${f.positives}) to judge`;
  if (f.negatives < MIN_EVENTS) return `too few cases without ${outcome} (${f.negatives}) to judge`;
  if (f.auc_low === null || f.auc_high === null) return 'no interval: cannot judge';
  if (f.auc_low > 0.5) return `ranks ${outcome} better than chance`;
  if (f.auc_high < 0.5) return `ranks ${outcome} worse than chance`;
  return `not distinguishable from chance at ranking ${outcome}`;
}
