/** How well a score ranks outcomes: ROC AUC and lift. Higher scores are meant to mean "more likely". */
export interface Scored01 {
  readonly score: number;
  readonly positive: boolean;
}

/**
 * ROC AUC by the Mann–Whitney statistic (ties count half); null without both outcomes.
 * @example rocAuc([{ score: 1, positive: true }, { score: 0, positive: false }]) // 1
 */
export function rocAuc(points: readonly Scored01[]): number | null {
  const sorted = [...points].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (sorted[k]!.positive) {
        rankSum += rank;
        positives++;
      }
    }
    i = j;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Lift of the top `share` of scores: their positive rate ÷ the overall rate. Ties at the cut are
 * broken by order of appearance, so the top group has exactly ⌈share × n⌉ members.
 */
export function lift(points: readonly Scored01[], share = 0.1): number | null {
  if (points.length === 0) return null;
  const base = points.filter((p) => p.positive).length / points.length;
  if (base === 0) return null;
  const top = [...points].sort((a, b) => b.score - a.score).slice(0, Math.max(1, Math.ceil(points.length * share)));
  return top.filter((p) => p.positive).length / top.length / base;
}
