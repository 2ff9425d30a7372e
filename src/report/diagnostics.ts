import type { Metrics } from '../queries/metrics-queries.js';

export interface Diagnostic {
  readonly id: 'expansion_over_weak_grr' | 'expansion_concentrated_accounts' | 'expansion_concentrated_owner' | 'consecutive_nrr_drops' | 'small_group';
  readonly severity: 'warning' | 'info';
  readonly message: string;
}

export interface DiagnosticThresholds {
  /** NRR at or above this with GRR below `weakGrr` means expansion is hiding churn. */
  readonly healthyNrr: number;
  readonly weakGrr: number;
  /** Share of expansion held by the top `topAccounts` accounts that counts as concentrated. */
  readonly topAccounts: number;
  readonly concentratedShare: number;
  readonly ownerShare: number;
  readonly minGroupAccounts: number;
  /** A single account above this share of a group's starting MRR makes the group fragile. */
  readonly singleAccountShare: number;
}

export const DEFAULT_THRESHOLDS: DiagnosticThresholds = {
  healthyNrr: 1.0,
  weakGrr: 0.85,
  topAccounts: 5,
  concentratedShare: 0.5,
  ownerShare: 0.5,
  minGroupAccounts: 30,
  singleAccountShare: 0.25,
};

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** NRR held up by expansion while gross retention is weak. */
export function diagnoseWeakGrr(m: Metrics, t: DiagnosticThresholds): Diagnostic[] {
  if (m.nrr === null || m.grr === null) return [];
  if (m.nrr >= t.healthyNrr && m.grr < t.weakGrr) {
    return [
      {
        id: 'expansion_over_weak_grr',
        severity: 'warning',
        message: `NRR ${pct(m.nrr)} is propped up by expansion: GRR is only ${pct(m.grr)} (below ${pct(t.weakGrr)}); churn and contraction are being replaced, not prevented.`,
      },
    ];
  }
  return [];
}

/** Expansion that rests on a few accounts (per-account rows) or one owner (per-owner rows). */
export function diagnoseConcentration(
  perAccount: readonly Metrics[],
  perOwner: readonly Metrics[] | undefined,
  ownerAttribute: string | undefined,
  t: DiagnosticThresholds,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const total = perAccount.reduce((s, m) => s + m.expansion.toNumber(), 0);
  if (total > 0) {
    const top = [...perAccount].sort((a, b) => b.expansion.cmp(a.expansion)).slice(0, t.topAccounts);
    const share = top.reduce((s, m) => s + m.expansion.toNumber(), 0) / total;
    const expanding = perAccount.filter((m) => !m.expansion.isZero()).length;
    if (share >= t.concentratedShare && expanding > t.topAccounts) {
      out.push({
        id: 'expansion_concentrated_accounts',
        severity: 'warning',
        message: `${pct(share)} of expansion comes from ${t.topAccounts} accounts (${top.map((m) => m.group).join(', ')}) out of ${expanding} that expanded.`,
      });
    }
  }
  if (perOwner && ownerAttribute && total > 0 && perOwner.length > 1) {
    const top = [...perOwner].sort((a, b) => b.expansion.cmp(a.expansion))[0]!;
    const share = top.expansion.toNumber() / total;
    if (share >= t.ownerShare) {
      out.push({
        id: 'expansion_concentrated_owner',
        severity: 'warning',
        message: `${pct(share)} of expansion sits with one ${ownerAttribute}: ${top.group}.`,
      });
    }
  }
  return out;
}

/** Two consecutive drops in monthly NRR, ending at the latest month. */
export function diagnoseConsecutiveDrops(monthly: readonly Metrics[]): Diagnostic[] {
  const s = monthly.filter((m) => m.nrr !== null);
  if (s.length < 3) return [];
  const [a, b, c] = s.slice(-3) as [Metrics, Metrics, Metrics];
  if (b.nrr! < a.nrr! && c.nrr! < b.nrr!) {
    return [
      {
        id: 'consecutive_nrr_drops',
        severity: 'warning',
        message: `Monthly NRR fell two months running: ${a.month} ${pct(a.nrr!)} → ${b.month} ${pct(b.nrr!)} → ${c.month} ${pct(c.nrr!)}.`,
      },
    ];
  }
  return [];
}

/** Groups whose figure rests on too few accounts, or on one account. */
export function diagnoseSmallGroups(by: string, groups: readonly Metrics[], t: DiagnosticThresholds): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const g of groups) {
    const share = g.largest_account_share ?? 0;
    if (g.starting_accounts < t.minGroupAccounts) {
      out.push({
        id: 'small_group',
        severity: 'info',
        message: `${by} '${g.group}': only ${g.starting_accounts} starting accounts (fewer than ${t.minGroupAccounts}); its NRR is too noisy to trust.`,
      });
    } else if (share > t.singleAccountShare) {
      out.push({
        id: 'small_group',
        severity: 'info',
        message: `${by} '${g.group}': one account holds ${pct(share)} of its starting MRR; its NRR mostly tells that account's story.`,
      });
    }
  }
  return out;
}
