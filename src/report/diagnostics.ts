import { plausibleNrrRange, type Metrics, type NrrMethod } from '../queries/metrics-queries.js';
import type { Contributor, OverlapSummary } from '../queries/plausibility-queries.js';
import { formatMoney } from './format.js';

export interface Diagnostic {
  readonly id:
    | 'expansion_over_weak_grr'
    | 'expansion_concentrated_accounts'
    | 'expansion_concentrated_owner'
    | 'consecutive_nrr_drops'
    | 'small_group'
    | 'upgrade_overlap'
    | 'implausible_nrr'
    | 'tiny_cohort'
    | 'thin_filter';
  readonly severity: 'warning' | 'info';
  readonly message: string;
  /** The accounts the finding rests on, when it names some (examples or top contributors). */
  readonly accounts?: readonly string[];
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
  /** Each of two monthly NRR drops must be at least this (0.005 = 0.5 percentage point) to be flagged. */
  readonly materialDrop: number;
}

export const DEFAULT_THRESHOLDS: DiagnosticThresholds = {
  healthyNrr: 1.0,
  weakGrr: 0.85,
  topAccounts: 5,
  concentratedShare: 0.5,
  ownerShare: 0.5,
  minGroupAccounts: 30,
  singleAccountShare: 0.25,
  materialDrop: 0.005,
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

const pct2 = (x: number): string => `${(x * 100).toFixed(2)}%`;
const pp = (x: number): string => `${(x * 100).toFixed(2)} pp`;

/**
 * Two consecutive material drops in monthly NRR, ending at the latest month: each at least
 * `materialDrop` (default 0.5 percentage point), printed to two decimals so the drops show.
 */
export function diagnoseConsecutiveDrops(monthly: readonly Metrics[], t: Pick<DiagnosticThresholds, 'materialDrop'> = DEFAULT_THRESHOLDS): Diagnostic[] {
  const s = monthly.filter((m) => m.nrr !== null);
  if (s.length < 3) return [];
  const [a, b, c] = s.slice(-3) as [Metrics, Metrics, Metrics];
  const first = a.nrr! - b.nrr!;
  const second = b.nrr! - c.nrr!;
  // Compared to a millionth, so a drop of exactly the threshold is flagged whatever the float noise.
  const material = (drop: number): boolean => Math.round(drop * 1e6) >= Math.round(t.materialDrop * 1e6);
  if (material(first) && material(second)) {
    return [
      {
        id: 'consecutive_nrr_drops',
        severity: 'warning',
        message: `Monthly NRR fell two months running, each by at least ${pp(t.materialDrop)}: ${a.month} ${pct2(a.nrr!)} → ${b.month} ${pct2(b.nrr!)} (−${pp(first)}) → ${c.month} ${pct2(c.nrr!)} (−${pp(second)}).`,
      },
    ];
  }
  return [];
}

/** Lines that look like upgrades never ended: how many, their share of MRR, examples and the fix. */
export function diagnoseOverlaps(o: OverlapSummary): Diagnostic[] {
  if (o.lines === 0) return [];
  const ex = o.examples.map((l) => `${l.account_id}: ${l.line_id} → ${l.replaced_by}`).join('; ');
  return [
    {
      id: 'upgrade_overlap',
      severity: 'warning',
      message:
        `${o.lines} line${o.lines === 1 ? '' : 's'} in ${o.accounts} account${o.accounts === 1 ? '' : 's'} ${o.lines === 1 ? 'looks like an upgrade' : 'look like upgrades'} never ended ` +
        `(a later line of the same product, worth as much or more, beside it for ${o.min_months}+ months): ` +
        `${formatMoney(o.mrr)} MRR, ${o.share_of_mrr === null ? '—' : pct2(o.share_of_mrr)} of MRR in ${o.month}, counted twice if they are upgrades. ` +
        `Largest: ${ex}. Fix: end the old line on the day the new one starts (its end_date = the new line's start_date).`,
      accounts: [...new Set(o.examples.map((l) => l.account_id))],
    },
  ];
}

/** NRR outside its window's plausible range, with the accounts that moved it most. */
export function diagnoseImplausibleNrr(label: string, m: Metrics, contributors: readonly Contributor[]): Diagnostic[] {
  if (m.nrr_plausible !== false || m.nrr === null) return [];
  const [lo, hi] = plausibleNrrRange(m.window);
  const who = contributors.map((c) => `${c.account_id} ${formatMoney(c.starting_mrr, 0)} → ${formatMoney(c.ending_mrr, 0)}`).join('; ');
  return [
    {
      id: 'implausible_nrr',
      severity: 'warning',
      message:
        `${label}: NRR ${pct(m.nrr)} is outside the plausible range for a ${m.window}-month window (${pct(lo)}–${pct(hi)}); ` +
        `check the data before using it (lines never ended, an amount in the wrong unit) — it is not ranked against benchmarks.` +
        (who ? ` Largest changes: ${who}.` : ''),
      accounts: contributors.map((c) => c.account_id),
    },
  ];
}

/**
 * The movements and average methods on a cohort below `min_group_accounts`: the sum of movements
 * rests on a handful of accounts, and the average compounds monthly ratios of cohorts that small.
 */
export function diagnoseTinyCohort(label: string, method: NrrMethod, m: Metrics, t: Pick<DiagnosticThresholds, 'minGroupAccounts'>): Diagnostic[] {
  // No starting MRR (an account new in the window, under the movements method): no figure to doubt.
  if (method === 'snapshot' || !m.small_group || m.nrr === null) return [];
  const n = m.smallest_monthly_cohort ?? m.starting_accounts;
  const why =
    method === 'average'
      ? `its monthly ratios rest on cohorts of as few as ${n} account${n === 1 ? '' : 's'}, and compounding them multiplies their noise`
      : `its movements come from ${n} starting account${n === 1 ? '' : 's'}`;
  return [
    {
      id: 'tiny_cohort',
      severity: 'warning',
      message: `${label}: NRR by the ${method} method on a tiny cohort (fewer than ${t.minGroupAccounts} accounts): ${why}.`,
    },
  ];
}

const accounts = (n: number): string => `${n} starting account${n === 1 ? '' : 's'}`;

/** Groups whose figure rests on too few accounts (`small_group`, one threshold everywhere), or on one account. */
export function diagnoseSmallGroups(by: string, groups: readonly Metrics[], t: DiagnosticThresholds): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const g of groups) {
    const share = g.largest_account_share ?? 0;
    if (g.small_group) {
      out.push({
        id: 'small_group',
        severity: 'info',
        message: `${by} '${g.group}': only ${accounts(g.smallest_monthly_cohort ?? g.starting_accounts)} (fewer than ${t.minGroupAccounts}); its NRR is too noisy to trust.`,
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

/**
 * What `nrr metrics` says on standard error beside its rows: tiny cohorts under the movements and
 * average methods, and NRR outside its plausible range. Nothing for `--by account`: one account is
 * the detail behind a figure, not a figure (its row still carries small_group and nrr_plausible).
 */
export function metricsWarnings(rows: readonly Metrics[], method: NrrMethod, minGroupAccounts: number, by?: string): string[] {
  if (by === 'account') return [];
  const all = rows.flatMap((m) => {
    const label = `${m.month}${m.group === undefined ? '' : ` '${m.group}'`}`;
    return [...diagnoseTinyCohort(label, method, m, { minGroupAccounts }), ...diagnoseImplausibleNrr(label, m, [])].map((d) => d.message);
  });
  // Per account every cohort is tiny: a few examples and a count, not thousands of lines.
  return all.length <= 5 ? all : [...all.slice(0, 3), `… and ${all.length - 3} more (small_group and nrr_plausible in the output)`];
}
