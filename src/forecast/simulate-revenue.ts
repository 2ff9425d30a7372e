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
  /**
   * Whether it is counted in the totals (default true). An account left out is still simulated,
   * drawing the same random numbers, so that the accounts counted get the same paths whichever
   * others are counted beside them: a filtered forecast equals that group of a forecast by groups.
   */
  readonly counted?: boolean;
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
 * Each simulated period's ending MRR of every account, kept sparse: an account's ending MRR is its
 * MRR at T plus its committed change (`first`) unless an event moved it, and only the moved ones'
 * are kept (8 bytes each, and a bit per account and period). Summed over any accounts
 * (sumOutcomes), it gives their totals exactly as if they alone had been counted, which lets a
 * server sum a filter's accounts without simulating again.
 */
export interface SimOutcomes {
  readonly simulations: number;
  /** Per account: max(0, start + committed), its ending MRR in a period where nothing happened to it. */
  readonly first: Float64Array;
  /** Per period, ⌈accounts ÷ 32⌉ words: bit i (word i ÷ 32, bit i mod 32) set when account i moved. */
  readonly moved: Uint32Array;
  /** Period s's moved accounts' ending MRRs are `mrr` offsets[s] to offsets[s + 1] − 1, by account. */
  readonly offsets: Int32Array;
  readonly mrr: Float64Array;
}

/** The bytes SimOutcomes hold (what a server keeping them for sums spends). */
export function outcomeBytes(o: SimOutcomes): number {
  return o.first.byteLength + o.moved.byteLength + o.offsets.byteLength + o.mrr.byteLength;
}

/** What summing needs of an account (SimAccount without its probabilities). */
export type SumAccount = Pick<SimAccount, 'start' | 'group' | 't12m' | 'counted'>;

/**
 * Monte Carlo over accounts: each starts at its MRR plus its committed change, then in each month
 * step churns (to zero, for good), contracts or expands by a size drawn from its size group's
 * history, or stays. The same input and seed give the same totals.
 */
export function simulateRevenue(input: SimInput): SimTotals {
  // Summed a block of periods at a time: the outcomes of all the periods at once are not held.
  const parts: SimTotals[] = [];
  for (const block of outcomeBlocks(input, PERIODS_A_BLOCK)) parts.push(sumOutcomes(block, input.accounts, input.groups));
  return joinTotals(parts, input.groups);
}

/** Periods whose outcomes simulateRevenue holds at once. */
const PERIODS_A_BLOCK = 50;

/**
 * The simulation's outcomes (SimOutcomes), before any summing. Every account is simulated whether
 * counted or not, drawing the same random numbers: the outcomes depend on no filter or grouping.
 */
export function simulateOutcomes(input: Omit<SimInput, 'groups'>): SimOutcomes {
  return outcomeBlocks(input, input.simulations).next().value as SimOutcomes;
}

/**
 * The simulation's outcomes, `periods` periods a block (the last may have fewer): one stream of
 * random numbers across the blocks, so the blocks together are simulateOutcomes' periods.
 */
function* outcomeBlocks(input: Omit<SimInput, 'groups'>, periods: number): Generator<SimOutcomes> {
  const S = input.simulations;
  const H = input.steps;
  const N = input.accounts.length;
  // The accounts as flat arrays: the loop below runs accounts × simulations × steps times.
  const first = new Float64Array(N);
  const sizeOf = new Int32Array(N);
  const probs = new Float64Array(N * 3 * H);
  input.accounts.forEach((a, i) => {
    first[i] = Math.max(0, a.start + a.committed);
    sizeOf[i] = a.sizeGroup;
    probs.set(a.probs.subarray(0, 3 * H), i * 3 * H);
  });
  const contraction = input.sizes.map((x) => Float64Array.from(x.contraction));
  const expansion = input.sizes.map((x) => Float64Array.from(x.expansion));
  const rng = new Random(input.seed, 17);
  // The common shocks of every period, drawn first: their largest values bound each account's
  // chance of any event over the horizon, below.
  const mults = new Float64Array(3 * S);
  const largest = [1, 1, 1];
  for (let s = 0; s < S; s++) {
    input.shock.forEach((sigma, j) => {
      const m = sigma > 0 ? Math.exp(sigma * normal(rng) - (sigma * sigma) / 2) : 1;
      mults[3 * s + j] = m;
      if (m > largest[j]!) largest[j] = m;
    });
  }
  // Each account's least chance of no event at all over the horizon, whatever the period's shock.
  const calm = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let none = 1;
    for (let k = 0, at = i * 3 * H; k < H; k++, at += 3) none *= 1 - Math.min(1, probs[at]! * largest[0]! + probs[at + 1]! * largest[1]! + probs[at + 2]! * largest[2]!);
    calm[i] = none;
  }
  const W = Math.ceil(N / 32);
  let ended = new Float64Array(Math.max(16, N));
  // One block at least, even of no periods: simulateOutcomes has something to answer.
  const step = Math.max(1, periods);
  for (let from = 0; from === 0 || from < S; from += step) {
    const P = Math.min(step, S - from);
    const movedBits = new Uint32Array(P * W);
    const offsets = new Int32Array(P + 1);
    let moved = 0;
    for (let b = 0; b < P; b++) {
      const s = from + b;
      const mc = mults[3 * s]!;
      const mo = mults[3 * s + 1]!;
      const me = mults[3 * s + 2]!;
      offsets[b] = moved;
      for (let i = 0; i < N; i++) {
        let mrr = first[i]!;
        // One uniform u walks the months: an event in month k when u falls below its chance q, else
        // u becomes (u − q) ÷ (1 − q), again uniform. No event in any month exactly when 1 − u is at
        // most the product of the (1 − q): below `calm`, that is known without the walk.
        let u = rng.uniform();
        if (mrr > 0 && 1 - u >= calm[i]!) {
          const cs = contraction[sizeOf[i]!]!;
          const es = expansion[sizeOf[i]!]!;
          for (let k = 0, at = i * 3 * H; k < H && mrr > 0; k++, at += 3) {
            let pc = probs[at]! * mc;
            if (pc > 1) pc = 1;
            let po = probs[at + 1]! * mo;
            if (po > 1 - pc) po = 1 - pc;
            let pe = probs[at + 2]! * me;
            if (pe > 1 - pc - po) pe = 1 - pc - po;
            const q = pc + po + pe;
            if (u >= q) {
              u = (u - q) / (1 - q);
              continue;
            }
            if (u < pc) mrr = 0;
            else if (u < pc + po) {
              if (cs.length > 0) {
                const f = cs[Math.floor(rng.uniform() * cs.length)]!;
                mrr *= 1 - (f < 1 ? f : 1);
              }
            } else if (es.length > 0) mrr *= 1 + es[Math.floor(rng.uniform() * es.length)]!;
            u = rng.uniform();
          }
          if (mrr !== first[i]) {
            if (moved === ended.length) {
              const more = new Float64Array(2 * moved);
              more.set(ended);
              ended = more;
            }
            movedBits[b * W + (i >>> 5)]! |= 1 << (i & 31);
            ended[moved++] = mrr;
          }
        }
      }
    }
    offsets[P] = moved;
    yield { simulations: P, first, moved: movedBits, offsets, mrr: ended.slice(0, moved) };
  }
}

/** Totals of consecutive blocks of periods as one (the start is every block's). */
function joinTotals(parts: readonly SimTotals[], groups: number): SimTotals {
  const join = (k: Exclude<keyof SimTotals, 'start'>): Float64Array => {
    const out = new Float64Array(parts.reduce((n, p) => n + p[k].length, 0));
    let at = 0;
    for (const p of parts) (out.set(p[k], at), (at += p[k].length));
    return out;
  };
  return {
    start: parts[0]?.start ?? new Float64Array(groups + 1),
    end: join('end'),
    retained: join('retained'),
    expansion: join('expansion'),
    contraction: join('contraction'),
    churn: join('churn'),
    t12mEnd: join('t12mEnd'),
  };
}

/** The number of bits set in a 32-bit word. */
function bitCount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * The totals of the accounts counted (SumAccount.counted), company-wide and by group, from the
 * outcomes of a simulation of these same accounts: each period's sums are taken in the accounts'
 * order, so that the same accounts always give the same totals to the last digit.
 */
export function sumOutcomes(outcomes: SimOutcomes, accounts: readonly SumAccount[], groups: number): SimTotals {
  const G = groups + 1;
  const S = outcomes.simulations;
  const N = accounts.length;
  const out: SimTotals = {
    start: new Float64Array(G),
    end: new Float64Array(S * G),
    retained: new Float64Array(S * G),
    expansion: new Float64Array(S * G),
    contraction: new Float64Array(S * G),
    churn: new Float64Array(S * G),
    t12mEnd: new Float64Array(S * G),
  };
  const start = new Float64Array(N);
  const cell = new Int32Array(N);
  const inT12m = new Uint8Array(N);
  const counted: number[] = [];
  accounts.forEach((a, i) => {
    start[i] = a.start;
    cell[i] = a.group >= 0 ? a.group + 1 : 0;
    inT12m[i] = a.t12m ? 1 : 0;
    if (a.counted === false) return;
    counted.push(i);
    out.start[0]! += a.start;
    if (a.group >= 0) out.start[a.group + 1]! += a.start;
  });
  // Per simulation and cell (0: the company; g + 1: group g), accumulated without allocating per account.
  const W = Math.ceil(N / 32);
  const end = new Float64Array(G);
  const retained = new Float64Array(G);
  const up = new Float64Array(G);
  const down = new Float64Array(G);
  const lost = new Float64Array(G);
  const t12m = new Float64Array(G);
  const { first, moved, mrr: movedMrr } = outcomes;
  for (let s = 0; s < S; s++) {
    // `at`: where in `mrr` the moved accounts of words `scanned` on start.
    let at = outcomes.offsets[s]!;
    let scanned = s * W;
    end.fill(0);
    retained.fill(0);
    up.fill(0);
    down.fill(0);
    lost.fill(0);
    t12m.fill(0);
    for (const i of counted) {
      const w = s * W + (i >>> 5);
      while (scanned < w) at += bitCount(moved[scanned++]!);
      const word = moved[w]!;
      const bit = 1 << (i & 31);
      const mrr = (word & bit) === 0 ? first[i]! : movedMrr[at + bitCount(word & (bit - 1))]!;
      const a = start[i]!;
      for (let c = cell[i]!; ; c = 0) {
        end[c]! += mrr;
        retained[c]! += mrr < a ? mrr : a;
        if (mrr <= 0) lost[c]! += a;
        else if (mrr > a) up[c]! += mrr - a;
        else down[c]! += a - mrr;
        if (inT12m[i] === 1) t12m[c]! += mrr;
        if (c === 0) break;
      }
    }
    out.end.set(end, s * G);
    out.retained.set(retained, s * G);
    out.expansion.set(up, s * G);
    out.contraction.set(down, s * G);
    out.churn.set(lost, s * G);
    out.t12mEnd.set(t12m, s * G);
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
