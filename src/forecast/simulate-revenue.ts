import { Random } from '../generate/random.js';

/** One account in the simulation: its MRR at T, the committed change to T + h, its monthly event probabilities. */
export interface SimAccount {
  /** Ledger MRR at T (the denominator of forward NRR). */
  readonly start: number;
  /** The committed layer: the change already known to happen before T + h. */
  readonly committed: number;
  /** Index of its group in `groups` (for --by), or -1. */
  readonly group: number;
  /** Index of its size distribution in `SimInput.sizes`. */
  readonly sizeGroup: number;
  /** Per month step k: [churn, contraction, expansion] probabilities at 3k, 3k+1, 3k+2. */
  readonly probs: Float64Array;
  /** Whether it belongs to the cohort of the T12M NRR reported at T + h (it had MRR 12 months before then). */
  readonly t12m?: boolean;
}

export interface SimInput {
  readonly accounts: readonly SimAccount[];
  readonly steps: number;
  /** Fractions of MRR lost (contraction) or gained (expansion) when it happens, by size group. */
  readonly sizes: readonly { readonly contraction: readonly number[]; readonly expansion: readonly number[] }[];
  /**
   * Spread of a common shock per event kind [churn, contraction, expansion]: each simulated period
   * multiplies every account's probability by exp(σz − σ²/2), z standard normal, so that a bad
   * quarter for everyone is possible (accounts are not independent).
   */
  readonly shock: readonly [number, number, number];
  readonly groups: number;
  readonly simulations: number;
  readonly seed: number;
}

/** Totals of one simulated period, company-wide (index 0) and by group (index g + 1). */
export interface SimTotals {
  readonly start: Float64Array;
  /** Per simulation × (groups + 1): ending MRR, retained MRR (Σ min(end, start)), expansion, contraction, churn. */
  readonly end: Float64Array;
  readonly retained: Float64Array;
  readonly expansion: Float64Array;
  readonly contraction: Float64Array;
  readonly churn: Float64Array;
  /** Per simulation × (groups + 1): ending MRR of the accounts in the T12M cohort (SimAccount.t12m). */
  readonly t12mEnd: Float64Array;
}

function normal(rng: Random): number {
  const u = Math.max(rng.uniform(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.uniform());
}

/**
 * Monte Carlo over accounts: each starts at its MRR plus its committed change, then in each month
 * step churns (to zero, for good), contracts or expands by a size drawn from its size group's
 * history, or stays. The same input and seed give the same totals.
 */
export function simulateRevenue(input: SimInput): SimTotals {
  const G = input.groups + 1;
  const S = input.simulations;
  const out: SimTotals = {
    start: new Float64Array(G),
    end: new Float64Array(S * G),
    retained: new Float64Array(S * G),
    expansion: new Float64Array(S * G),
    contraction: new Float64Array(S * G),
    churn: new Float64Array(S * G),
    t12mEnd: new Float64Array(S * G),
  };
  for (const a of input.accounts) {
    out.start[0]! += a.start;
    if (a.group >= 0) out.start[a.group + 1]! += a.start;
  }
  const rng = new Random(input.seed, 17);
  for (let s = 0; s < S; s++) {
    const mult = input.shock.map((sigma) => (sigma > 0 ? Math.exp(sigma * normal(rng) - (sigma * sigma) / 2) : 1));
    for (const a of input.accounts) {
      let mrr = Math.max(0, a.start + a.committed);
      const sizes = input.sizes[a.sizeGroup]!;
      for (let k = 0; k < input.steps && mrr > 0; k++) {
        const pc = Math.min(1, a.probs[3 * k]! * mult[0]!);
        const po = Math.min(1 - pc, a.probs[3 * k + 1]! * mult[1]!);
        const pe = Math.min(1 - pc - po, a.probs[3 * k + 2]! * mult[2]!);
        const u = rng.uniform();
        if (u < pc) mrr = 0;
        else if (u < pc + po && sizes.contraction.length > 0) mrr *= 1 - Math.min(1, sizes.contraction[Math.floor(rng.uniform() * sizes.contraction.length)]!);
        else if (u >= pc + po && u < pc + po + pe && sizes.expansion.length > 0) mrr *= 1 + sizes.expansion[Math.floor(rng.uniform() * sizes.expansion.length)]!;
      }
      // The company (cell 0) and the account's group (cell g + 1), without allocating per account.
      for (let c = 0; c < (a.group >= 0 ? 2 : 1); c++) {
        const at = s * G + (c === 0 ? 0 : a.group + 1);
        out.end[at]! += mrr;
        if (a.t12m) out.t12mEnd[at]! += mrr;
        out.retained[at]! += Math.min(mrr, a.start);
        if (mrr <= 0) out.churn[at]! += a.start;
        else if (mrr > a.start) out.expansion[at]! += mrr - a.start;
        else out.contraction[at]! += a.start - mrr;
      }
    }
  }
  return out;
}

/** The q-quantile (0–1) of values, by linear interpolation between order statistics. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Column g of a per-simulation × group array. */
export function column(values: Float64Array, groups: number, g: number): Float64Array {
  const S = values.length / (groups + 1);
  const out = new Float64Array(S);
  for (let s = 0; s < S; s++) out[s] = values[s * (groups + 1) + g]!;
  return out;
}
