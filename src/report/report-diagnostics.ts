import { filterWords, hasFilter, type AccountFilter } from '../engine/account-filter.js';
import { monthText } from '../engine/months.js';
import { filteredAccountIds } from '../queries/attribute-queries.js';
import { metrics, metricsSeries, type Metrics } from '../queries/metrics-queries.js';
import { suspectOverlaps, topContributors, type OverlapSummary } from '../queries/plausibility-queries.js';
import type { Workspace } from '../workspace/workspace.js';
import {
  DEFAULT_THRESHOLDS,
  diagnoseConcentration,
  diagnoseConsecutiveDrops,
  diagnoseImplausibleNrr,
  diagnoseOverlaps,
  diagnoseSmallGroups,
  diagnoseTinyCohort,
  diagnoseWeakGrr,
  type Diagnostic,
} from './diagnostics.js';

/** Columns that name an account's owner, in the order looked for (the owner concentration diagnostic). */
const OWNER_COLUMNS = ['owner', 'csm', 'csm_owner', 'account_owner', 'am_owner', 'am'];

/** The figures the diagnostics read, for the whole company or the accounts a filter keeps. */
export interface DiagnosticInputs {
  readonly headline: { readonly t12m: Metrics; readonly quarterly: Metrics; readonly monthly: Metrics };
  /** Monthly NRR of the trend's months (the last three drive the consecutive-drops diagnostic). */
  readonly monthly: readonly Metrics[];
  /** The T12M figures by each grouping of the report. */
  readonly groups: readonly { readonly by: string; readonly rows: readonly Metrics[] }[];
}

/** The groupings the report shows and checks: ACV band, segment, product when there are several, and those asked for. */
export function reportGroupings(ws: Workspace, extra: readonly string[] = []): string[] {
  const out = ['acv_band'];
  if (ws.attributes.includes('segment')) out.push('segment');
  if (ws.summary.products.length > 1) out.push('product');
  for (const b of extra) if (!out.includes(b)) out.push(b);
  return out;
}

/** The attribute that names owners: the policy's, or the first of OWNER_COLUMNS the accounts have. */
export const ownerAttribute = (ws: Workspace): string | undefined => ws.policies.owner_attribute ?? OWNER_COLUMNS.find((c) => ws.attributes.includes(c));

/**
 * The report's diagnostics from its figures (in the report's order: plausibility first, then
 * drops, concentration, weak GRR, tiny cohorts and small groups); with `where`, each reads only the
 * accounts it keeps (the figures in `inputs` must have been computed with the same filter).
 */
export async function reportDiagnostics(ws: Workspace, inputs: DiagnosticInputs, where?: AccountFilter): Promise<{ diagnostics: Diagnostic[]; overlaps: OverlapSummary }> {
  const method = ws.policies.nrr_method;
  const t = { ...DEFAULT_THRESHOLDS, minGroupAccounts: ws.policies.min_group_accounts };
  const diagnostics: Diagnostic[] = [];
  const plausibility: Diagnostic[] = [];
  for (const { by, rows } of inputs.groups) {
    diagnostics.push(...diagnoseSmallGroups(by, rows, t));
    for (const r of rows) {
      const label = `${by} '${r.group}'`;
      if (r.nrr_plausible === false) plausibility.push(...diagnoseImplausibleNrr(label, r, await topContributors(ws, { window: 12, by, group: r.group, where })));
      diagnostics.push(...diagnoseTinyCohort(label, method, r, t));
    }
  }
  const { t12m, quarterly, monthly } = inputs.headline;
  const headlines: [string, Metrics][] = [
    ['Last month', monthly],
    ['Last quarter', quarterly],
    ['Trailing 12 months', t12m],
  ];
  for (const [label, m] of headlines) {
    if (m.nrr_plausible === false) plausibility.unshift(...diagnoseImplausibleNrr(label, m, await topContributors(ws, { window: m.window, where })));
    diagnostics.unshift(...diagnoseTinyCohort(label, method, m, t));
  }
  const overlaps = await suspectOverlaps(ws, { where });
  plausibility.unshift(...diagnoseOverlaps(overlaps));

  diagnostics.unshift(...diagnoseWeakGrr(t12m, t));
  const perAccount = await metrics(ws, { window: 12, by: 'account', where });
  const owner = ownerAttribute(ws);
  const perOwner = owner ? await metrics(ws, { window: 12, by: owner, where }) : undefined;
  diagnostics.unshift(...diagnoseConcentration(perAccount, perOwner, owner, t));
  diagnostics.unshift(...diagnoseConsecutiveDrops(inputs.monthly, t));
  diagnostics.unshift(...plausibility);
  return { diagnostics, overlaps };
}

/** The months of the report's trend: up to `count` months ending at the reporting month. */
export function trendMonths(ws: Workspace, count = 24): number[] {
  const asOf = ws.asOfMonth;
  const first = ws.firstMonth ?? asOf;
  const start = Math.max(first + 1, asOf - count + 1);
  return Array.from({ length: Math.max(0, asOf - start + 1) }, (_, k) => start + k);
}

/** A check the diagnostics could not make for the accounts asked about, and why. */
export interface SkippedCheck {
  readonly id: Diagnostic['id'];
  readonly reason: string;
}

/** The diagnostics of the accounts a filter keeps (GET /api/diagnostics), with the counts they rest on. */
export interface FilteredDiagnostics {
  readonly as_of: string;
  /** The filter (null: the whole company). */
  readonly where: AccountFilter | null;
  /** Accounts of the accounts file the filter keeps (every account without one). */
  readonly accounts: number;
  /** The accounts paying at the start of the trailing twelve months (the cohort most checks read), and at its end. */
  readonly starting_accounts: number;
  readonly retained_accounts: number;
  /** Fewer starting accounts than `min_group_accounts`: every finding rests on few accounts. */
  readonly thin: boolean;
  readonly min_group_accounts: number;
  /** Each computed over the accounts the filter keeps (scope `filtered`), or of the whole company (`company`: without a filter). */
  readonly diagnostics: readonly (Diagnostic & { readonly scope: 'filtered' | 'company' })[];
  /** Checks that do not apply to these accounts, each with the reason (not "nothing found"). */
  readonly skipped: readonly SkippedCheck[];
}

/**
 * The report's diagnostics for the accounts a filter keeps: every check reads only those accounts
 * (headline windows, monthly drops, concentration by account and owner, groups, upgrade overlaps,
 * implausible NRR). A check that cannot say anything of them is listed in `skipped` with why; a
 * thin set is said first.
 * @example (await filteredDiagnostics(ws, { segment: 'smb' })).diagnostics[0].message
 */
export async function filteredDiagnostics(ws: Workspace, where: AccountFilter | undefined): Promise<FilteredDiagnostics> {
  const w = hasFilter(where) ? where : undefined;
  const accounts = w ? (await filteredAccountIds(ws, w)).length : ws.summary.accounts;
  const [t12m] = (await metrics(ws, { window: 12, where: w })) as [Metrics];
  const [quarterly] = (await metrics(ws, { window: 3, where: w })) as [Metrics];
  const [monthly] = (await metrics(ws, { window: 1, where: w })) as [Metrics];
  const series = await metricsSeries(ws, { months: trendMonths(ws), window: 1, where: w });
  const groupings = reportGroupings(ws).filter((by) => w === undefined || !(by in w));
  const groups = [];
  for (const by of groupings) groups.push({ by, rows: await metrics(ws, { window: 12, by, where: w }) });
  const { diagnostics } = await reportDiagnostics(ws, { headline: { t12m, quarterly, monthly }, monthly: series, groups }, w);
  const min = ws.policies.min_group_accounts;
  const said = w ? filterWords(w) : 'the company';
  const skipped: SkippedCheck[] = [];
  const owner = ownerAttribute(ws);
  if (w && owner && owner in w) skipped.push({ id: 'expansion_concentrated_owner', reason: `the filter keeps one ${owner}: expansion cannot be concentrated in one of several owners` });
  if (!owner) skipped.push({ id: 'expansion_concentrated_owner', reason: 'the accounts have no owner attribute' });
  for (const by of reportGroupings(ws).filter((g) => w !== undefined && g in w)) skipped.push({ id: 'small_group', reason: `${by} is filtered on: its one group is these accounts` });
  const thin: Diagnostic[] =
    t12m.starting_accounts === 0
      ? [{ id: 'thin_filter', severity: 'warning', message: `No account ${w ? `where ${said} ` : ''}paid at the start of the trailing twelve months to ${t12m.month}: there is no data to diagnose (not a clean bill of health).` }]
      : t12m.starting_accounts < min
        ? [{ id: 'thin_filter', severity: 'warning', message: `Only ${t12m.starting_accounts} account${t12m.starting_accounts === 1 ? '' : 's'} ${w ? `where ${said} ` : ''}paid at the start of the trailing twelve months to ${t12m.month} (fewer than ${min}): every finding below rests on few accounts.` }]
        : [];
  return {
    as_of: monthText(ws.asOfMonth),
    where: w ?? null,
    accounts,
    starting_accounts: t12m.starting_accounts,
    retained_accounts: t12m.retained_accounts,
    thin: t12m.starting_accounts < min,
    min_group_accounts: min,
    // Every check reads the filter's accounts alone; without a filter, they are the company's.
    diagnostics: [...thin, ...diagnostics].map((d) => ({ ...d, scope: w ? ('filtered' as const) : ('company' as const) })),
    skipped,
  };
}
