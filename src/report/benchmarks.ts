import { Money } from '../money.js';

/** Published NRR benchmarks (PRODUCT.md): median and top-quartile ranges, as fractions. */
export const BENCHMARKS = [
  { key: 'enterprise', label: 'Enterprise ($100K+ ACV)', median: [1.1, 1.15], topQuartile: [1.2, 1.3] },
  { key: 'mid-market', label: 'Mid-market ($25K–$100K ACV)', median: [1.05, 1.1], topQuartile: [1.15, 1.25] },
  { key: 'smb', label: 'SMB (< $25K ACV)', median: [0.9, 1.0], topQuartile: [1.0, 1.1] },
  { key: 'product-led', label: 'Product-led', median: [1.05, 1.15], topQuartile: [1.2, 1.4] },
  { key: 'usage-based', label: 'Usage-based', median: [1.1, 1.2], topQuartile: [1.3, 1.5] },
] as const;

export type Benchmark = (typeof BENCHMARKS)[number];
/** `implausible`: the NRR is outside its window's plausible range, so it is not ranked at all. */
export type BenchmarkStanding = 'top quartile' | 'above median' | 'median' | 'below median' | 'implausible';

export interface BenchmarkComparison {
  readonly benchmark: Benchmark['key'];
  readonly label: string;
  readonly median: readonly [number, number];
  readonly top_quartile: readonly [number, number];
  readonly standing: BenchmarkStanding;
  /** `config`: the `benchmark:` mapping named the group; `acv`: its median ACV at cohort start fell in the band. */
  readonly matched_by?: 'config' | 'acv';
}

export const BENCHMARK_KEYS = BENCHMARKS.map((b) => b.key) as [Benchmark['key'], ...Benchmark['key'][]];

/** The published ACV bands (PRODUCT.md), by annual contract value: below $25K SMB, below $100K mid-market, then enterprise. */
export const ACV_BENCHMARK_BANDS: readonly { readonly below: number | null; readonly key: Benchmark['key'] }[] = [
  { below: 25_000, key: 'smb' },
  { below: 100_000, key: 'mid-market' },
  { below: null, key: 'enterprise' },
];

/**
 * The ACV benchmark for a group's median annual contract value at cohort start, never its name:
 * a plan tier called "Enterprise" whose accounts pay $12K a year is an SMB group.
 * @example benchmarkForAcv(new Money('12000')).key // 'smb'
 */
export function benchmarkForAcv(acv: Money): Benchmark {
  const band = ACV_BENCHMARK_BANDS.find((b) => b.below === null || acv.cmp(new Money(b.below)) < 0)!;
  return BENCHMARKS.find((b) => b.key === band.key)!;
}

/**
 * The `benchmark:` section of the config: per grouping (`segment`, `plan`, `product`…), the
 * benchmark each group is compared with, or `none`. Groups it does not name go by ACV.
 */
export type BenchmarkMapping = Readonly<Record<string, Readonly<Record<string, Benchmark['key'] | 'none'>>>>;

/**
 * Which benchmark a group is compared with and why: the config's mapping for its grouping when it
 * names the group (`none` compares it with nothing), else the ACV band of its median ACV.
 */
export function chooseBenchmark(
  by: string,
  group: string,
  medianAcv: Money | null,
  mapping: BenchmarkMapping | undefined,
): { readonly key: Benchmark['key']; readonly matched_by: 'config' | 'acv' } | null {
  const mapped = mapping?.[by]?.[group];
  if (mapped === 'none') return null;
  if (mapped) return { key: mapped, matched_by: 'config' };
  return medianAcv === null ? null : { key: benchmarkForAcv(medianAcv).key, matched_by: 'acv' };
}

/**
 * Where an NRR stands against a benchmark; an implausible NRR (outside its window's range) is not
 * ranked, so 292 % is never "top quartile".
 * @example compareToBenchmark(1.12, 'enterprise').standing // 'median'
 */
export function compareToBenchmark(nrr: number, key: Benchmark['key'], plausible = true): BenchmarkComparison {
  const b = BENCHMARKS.find((x) => x.key === key)!;
  const standing: BenchmarkStanding = !plausible
    ? 'implausible'
    : nrr >= b.topQuartile[0] ? 'top quartile' : nrr > b.median[1] ? 'above median' : nrr >= b.median[0] ? 'median' : 'below median';
  return { benchmark: b.key, label: b.label, median: b.median, top_quartile: b.topQuartile, standing };
}
