/** Published NRR benchmarks (PRODUCT.md): median and top-quartile ranges, as fractions. */
export const BENCHMARKS = [
  { key: 'enterprise', label: 'Enterprise ($100K+ ACV)', median: [1.1, 1.15], topQuartile: [1.2, 1.3] },
  { key: 'mid-market', label: 'Mid-market ($25K–$100K ACV)', median: [1.05, 1.1], topQuartile: [1.15, 1.25] },
  { key: 'smb', label: 'SMB (< $25K ACV)', median: [0.9, 1.0], topQuartile: [1.0, 1.1] },
  { key: 'product-led', label: 'Product-led', median: [1.05, 1.15], topQuartile: [1.2, 1.4] },
  { key: 'usage-based', label: 'Usage-based', median: [1.1, 1.2], topQuartile: [1.3, 1.5] },
] as const;

export type Benchmark = (typeof BENCHMARKS)[number];
export type BenchmarkStanding = 'top quartile' | 'above median' | 'median' | 'below median';

export interface BenchmarkComparison {
  readonly benchmark: Benchmark['key'];
  readonly label: string;
  readonly median: readonly [number, number];
  readonly top_quartile: readonly [number, number];
  readonly standing: BenchmarkStanding;
}

/**
 * The benchmark a group's name points at, if any: 'Enterprise (≥ $100K)', 'enterprise', 'SMB',
 * 'mid-market', 'self-serve', 'PLG', 'usage'.
 */
export function benchmarkFor(groupName: string): Benchmark | undefined {
  const n = groupName.toLowerCase();
  const key = /enterprise|≥ \$100k/.test(n)
    ? 'enterprise'
    : /mid[- ]?market|\bmm\b/.test(n)
      ? 'mid-market'
      : /\bsmb\b|small/.test(n)
        ? 'smb'
        : /product[- ]led|\bplg\b|self[- ]serve/.test(n)
          ? 'product-led'
          : /usage/.test(n)
            ? 'usage-based'
            : undefined;
  return BENCHMARKS.find((b) => b.key === key);
}

/**
 * Where an NRR stands against a benchmark.
 * @example compareToBenchmark(1.12, 'enterprise').standing // 'median'
 */
export function compareToBenchmark(nrr: number, key: Benchmark['key']): BenchmarkComparison {
  const b = BENCHMARKS.find((x) => x.key === key)!;
  const standing: BenchmarkStanding =
    nrr >= b.topQuartile[0] ? 'top quartile' : nrr > b.median[1] ? 'above median' : nrr >= b.median[0] ? 'median' : 'below median';
  return { benchmark: b.key, label: b.label, median: b.median, top_quartile: b.topQuartile, standing };
}
