import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchmarkForAcv, chooseBenchmark, compareToBenchmark } from '../src/report/benchmarks.js';
import {
  DEFAULT_THRESHOLDS,
  diagnoseConcentration,
  diagnoseConsecutiveDrops,
  diagnoseSmallGroups,
  diagnoseWeakGrr,
  metricsWarnings,
} from '../src/report/diagnostics.js';
import { formatMoney, formatPercent } from '../src/report/format.js';
import { Money, stringifyJson } from '../src/money.js';
import { emptyMetrics, isPlausibleNrr, metrics, plausibleNrrRange, type Metrics } from '../src/queries/metrics-queries.js';
import { suspectOverlaps } from '../src/queries/plausibility-queries.js';
import { cohortTable } from '../src/queries/cohort-queries.js';
import { buildReport, type GroupRow, type Report } from '../src/report/report-model.js';
import { renderMarkdown } from '../src/report/render-markdown.js';
import { renderHtml } from '../src/report/render-html.js';
import { Workspace, type PolicyInput } from '../src/index.js';
import { fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';

const m = (over: Partial<Metrics>): Metrics => ({ ...emptyMetrics('2024-12', 12, 'snapshot'), ...over });

describe('benchmarks', () => {
  it('match an ACV to the published bands at their edges, never a name', () => {
    expect(benchmarkForAcv(new Money('24999.99')).key).toBe('smb');
    expect(benchmarkForAcv(new Money('25000')).key).toBe('mid-market');
    expect(benchmarkForAcv(new Money('99999.99')).key).toBe('mid-market');
    expect(benchmarkForAcv(new Money('100000')).key).toBe('enterprise');
    // A group called "Enterprise" with a $12K median ACV is an SMB group.
    expect(chooseBenchmark('segment', 'Enterprise', new Money('12000'), undefined)).toEqual({ key: 'smb', matched_by: 'acv' });
  });

  it('follow the config mapping where it names the group, and compare with nothing for none', () => {
    const mapping = { segment: { Enterprise: 'enterprise', Partners: 'none' } } as const;
    expect(chooseBenchmark('segment', 'Enterprise', new Money('12000'), mapping)).toEqual({ key: 'enterprise', matched_by: 'config' });
    expect(chooseBenchmark('segment', 'Partners', new Money('12000'), mapping)).toBeNull();
    expect(chooseBenchmark('segment', 'SMB', new Money('300000'), mapping)).toEqual({ key: 'enterprise', matched_by: 'acv' });
    // The mapping is per grouping: the same value under another grouping goes by ACV.
    expect(chooseBenchmark('plan', 'Enterprise', new Money('12000'), mapping)).toEqual({ key: 'smb', matched_by: 'acv' });
    expect(chooseBenchmark('segment', 'X', null, mapping)).toBeNull();
  });

  it('never rank an implausible NRR, however high', () => {
    expect(compareToBenchmark(2.92, 'enterprise').standing).toBe('top quartile');
    expect(compareToBenchmark(2.92, 'enterprise', false).standing).toBe('implausible');
  });

  it('place an NRR against median and top quartile', () => {
    expect(compareToBenchmark(1.25, 'enterprise').standing).toBe('top quartile');
    expect(compareToBenchmark(1.17, 'enterprise').standing).toBe('above median');
    expect(compareToBenchmark(1.12, 'enterprise').standing).toBe('median');
    expect(compareToBenchmark(1.05, 'enterprise').standing).toBe('below median');
    expect(compareToBenchmark(0.95, 'smb').standing).toBe('median');
  });
});

describe('diagnostics', () => {
  it('flag NRR propped up by expansion over weak GRR, and only then', () => {
    expect(diagnoseWeakGrr(m({ nrr: 1.08, grr: 0.8 }), DEFAULT_THRESHOLDS)).toHaveLength(1);
    expect(diagnoseWeakGrr(m({ nrr: 1.08, grr: 0.9 }), DEFAULT_THRESHOLDS)).toHaveLength(0);
    expect(diagnoseWeakGrr(m({ nrr: 0.95, grr: 0.8 }), DEFAULT_THRESHOLDS)).toHaveLength(0);
  });

  it('flag expansion concentrated in a few accounts or one owner', () => {
    const accounts = [m({ group: 'big', expansion: new Money('9000') }), ...Array.from({ length: 9 }, (_, i) => m({ group: `a${i}`, expansion: new Money('100') }))];
    const d = diagnoseConcentration(accounts, [m({ group: 'dana', expansion: new Money('9500') }), m({ group: 'eli', expansion: new Money('400') })], 'owner', DEFAULT_THRESHOLDS);
    expect(d.map((x) => x.id)).toEqual(['expansion_concentrated_accounts', 'expansion_concentrated_owner']);
    expect(d[1]!.message).toContain('dana');
    const even = Array.from({ length: 20 }, (_, i) => m({ group: `a${i}`, expansion: new Money('100') }));
    expect(diagnoseConcentration(even, undefined, undefined, DEFAULT_THRESHOLDS)).toEqual([]);
  });

  it('flag two consecutive monthly drops ending now', () => {
    const s = (xs: number[]): Metrics[] => xs.map((nrr, i) => m({ month: `2024-0${i + 1}`, nrr }));
    expect(diagnoseConsecutiveDrops(s([1.02, 1.01, 1.0]))).toHaveLength(1);
    expect(diagnoseConsecutiveDrops(s([1.02, 1.01, 1.015]))).toHaveLength(0);
    expect(diagnoseConsecutiveDrops(s([1.0, 1.01, 1.0]))).toHaveLength(0);
  });

  it('flag only material drops (each ≥ 0.5 pp), printed to two decimals', () => {
    const s = (xs: number[]): Metrics[] => xs.map((nrr, i) => m({ month: `2024-0${i + 1}`, nrr }));
    // 0.01 pp twice: noise, not a trend.
    expect(diagnoseConsecutiveDrops(s([1.0002, 1.0001, 1.0]))).toEqual([]);
    // 1 pp then 0.01 pp: the second is not material.
    expect(diagnoseConsecutiveDrops(s([1.0201, 1.0101, 1.01]))).toEqual([]);
    const [d] = diagnoseConsecutiveDrops(s([1.02, 1.01, 1.0]));
    expect(d!.message).toContain('2024-01 102.00% → 2024-02 101.00% (−1.00 pp) → 2024-03 100.00% (−1.00 pp)');
    // Exactly the threshold counts, whatever the float noise of 1.015 − 1.01.
    expect(diagnoseConsecutiveDrops(s([1.015, 1.01, 1.005]))).toHaveLength(1);
    expect(diagnoseConsecutiveDrops(s([1.015, 1.01, 1.005]), { materialDrop: 0.006 })).toEqual([]);
  });

  it('define a plausible NRR range per window', () => {
    expect(plausibleNrrRange(1)).toEqual([0.8, 1.25]);
    expect(plausibleNrrRange(3)).toEqual([0.7, 1.5]);
    expect(plausibleNrrRange(12)).toEqual([0.5, 2]);
    // Between two windows, the wider range; beyond twelve months, compounded.
    expect(plausibleNrrRange(2)).toEqual([0.7, 1.5]);
    expect(plausibleNrrRange(24)).toEqual([0.25, 4]);
    expect(isPlausibleNrr(2.92, 12)).toBe(false);
    expect(isPlausibleNrr(2, 12)).toBe(true);
    expect(isPlausibleNrr(0.49, 12)).toBe(false);
    expect(isPlausibleNrr(1.3, 1)).toBe(false);
    expect(isPlausibleNrr(1.3, 12)).toBe(true);
    expect(isPlausibleNrr(null, 12)).toBeNull();
  });

  it('warn on tiny cohorts under the movements and average methods, not the snapshot one', () => {
    const tiny = m({ group: 'Growth', starting_accounts: 2, small_group: true, nrr: 1.05, nrr_plausible: true });
    expect(metricsWarnings([tiny], 'snapshot', 30)).toEqual([]);
    expect(metricsWarnings([tiny], 'movements', 30)[0]).toContain('movements come from 2 starting accounts');
    expect(metricsWarnings([{ ...tiny, smallest_monthly_cohort: 1 }], 'average', 30)[0]).toContain('cohorts of as few as 1 account,');
    expect(metricsWarnings([{ ...tiny, starting_accounts: 40, small_group: false }], 'average', 30)).toEqual([]);
    // No starting MRR, no figure to doubt; per account, the rows are the detail, not a figure.
    expect(metricsWarnings([{ ...tiny, starting_accounts: 0, nrr: null, nrr_plausible: null }], 'movements', 30)).toEqual([]);
    expect(metricsWarnings([tiny], 'movements', 30, 'account')).toEqual([]);
    // Many rows: three examples and a count.
    const many = metricsWarnings(Array.from({ length: 8 }, (_, i) => ({ ...tiny, group: `g${i}` })), 'movements', 30);
    expect(many).toHaveLength(4);
    expect(many[3]).toBe('… and 5 more (small_group and nrr_plausible in the output)');
  });

  it('flag groups too small, or resting on one account', () => {
    const d = diagnoseSmallGroups('segment', [m({ group: 'tiny', starting_accounts: 3, small_group: true }), m({ group: 'whale', starting_accounts: 80, largest_account_share: 0.4, small_group: false }), m({ group: 'fine', starting_accounts: 80, largest_account_share: 0.05, small_group: false })], DEFAULT_THRESHOLDS);
    expect(d.map((x) => x.message.split(':')[0])).toEqual(["segment 'tiny'", "segment 'whale'"]);
  });
});

describe('money output', () => {
  it('rounds half-up to cents for people only', () => {
    expect(formatMoney(new Money('1234567.005'))).toBe('1,234,567.01');
    expect(formatMoney(new Money('-83.333333333333'))).toBe('-83.33');
    expect(formatPercent(1.015)).toBe('101.5%');
    expect(formatPercent(null)).toBe('—');
  });

  it('writes every digit to JSON, beyond what a double holds', () => {
    const big = '123456789012345678.123456789012';
    expect(stringifyJson({ a: new Money(big), b: [new Money('0.100')] }, 0)).toBe(`{"a":${big},"b":[0.1]}`);
  });
});

const SUBS = ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval'];

/** Runs `f` on a workspace over `files` (reporting month 2024-12), then closes and removes it. */
async function withFixture<T>(files: Record<string, FileContent>, policies: PolicyInput, f: (ws: Workspace) => Promise<T>): Promise<T> {
  const dir = fixtureDir(files, 'nrr-plaus-');
  try {
    const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-12', ...policies }, today: new Date('2025-06-15T00:00:00Z') });
    try {
      return await f(ws);
    } finally {
      ws.close();
    }
  } finally {
    removeDir(dir);
  }
}

/** A workspace over `files` for the tests of one describe block, open from beforeAll to afterAll. */
function fixtureWorkspace(files: Record<string, FileContent>, policies: PolicyInput = {}): () => Workspace {
  let ws: Workspace | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = fixtureDir(files, 'nrr-plaus-');
    ws = await Workspace.open({ data: dir, policies: { as_of: '2024-12', ...policies }, today: new Date('2025-06-15T00:00:00Z') });
  });
  afterAll(() => {
    ws?.close();
    if (dir) removeDir(dir);
  });
  return () => ws!;
}

describe('lines that look like upgrades never ended', () => {
  const workspace = fixtureWorkspace({
    'subscriptions.csv': [
      SUBS,
      // U1: a bigger line of the same product from June, the old one never ended → suspect.
      ['U1', 'U1-old', 'core', '2024-01-01', null, 100, 'month'],
      ['U1', 'U1-new', 'core', '2024-06-01', null, 200, 'month'],
      ['U2', 'U2-a', 'core', '2024-01-01', null, 400, 'month'],
      // U3: seats co-termed to the contract's end date → an add-on, not an upgrade.
      ['U3', 'U3-base', 'core', '2024-01-01', '2026-01-01', 100, 'month'],
      ['U3', 'U3-seats', 'core', '2024-03-01', '2026-01-01', 150, 'month'],
      // U4: a smaller later line → an add-on.
      ['U4', 'U4-base', 'core', '2024-01-01', null, 400, 'month'],
      ['U4', 'U4-addon', 'core', '2024-05-01', null, 50, 'month'],
      // U5: together for two months only by 2024-12 (November and December) → not yet.
      ['U5', 'U5-old', 'core', '2024-01-01', null, 100, 'month'],
      ['U5', 'U5-new', 'core', '2024-11-01', null, 100, 'month'],
      // U6: another product beside the first → cross-sell.
      ['U6', 'U6-core', 'core', '2024-01-01', null, 100, 'month'],
      ['U6', 'U6-analytics', 'analytics', '2024-02-01', null, 100, 'month'],
    ],
    'accounts.csv': [['account_id', 'segment'], ['U1', 'Enterprise'], ['U2', 'SMB'], ['U3', 'SMB'], ['U4', 'SMB'], ['U5', 'SMB'], ['U6', 'SMB']],
  });

  it('are counted with their MRR share, an example and the fix', async () => {
    const o = await suspectOverlaps(workspace());
    expect(o.lines).toBe(1);
    expect(o.accounts).toBe(1);
    expect(o.mrr.value).toBe('100');
    // MRR at 2024-12: 300 + 400 + 250 + 450 + 200 + 200 = 1,800.
    expect(o.share_of_mrr).toBeCloseTo(100 / 1800, 12);
    expect(o.examples).toEqual([{ account_id: 'U1', product: 'core', line_id: 'U1-old', mrr: new Money('100'), replaced_by: 'U1-new', end_at: '2024-06-01' }]);
    // A month later U5 has been together three months and is suspect too.
    expect((await suspectOverlaps(workspace(), { month: '2025-01' })).examples.map((l) => l.line_id).sort()).toEqual(['U1-old', 'U5-old']);
  });

  it('are fields of every metrics object, per group of the starting cohort', async () => {
    const [all] = await metrics(workspace(), { window: 6 });
    expect(all!.overlap_lines).toBe(1);
    expect(all!.overlap_mrr.value).toBe('100');
    const bySegment = await metrics(workspace(), { window: 6, by: 'segment' });
    expect(bySegment.map((r) => [r.group, r.overlap_lines, r.overlap_mrr.value])).toEqual([
      ['Enterprise', 1, '100'],
      ['SMB', 0, '0'],
    ]);
  });

  it('are a warning of the report with the fix', async () => {
    const r = await buildReport(workspace());
    const d = r.diagnostics.find((x) => x.id === 'upgrade_overlap');
    expect(d?.message).toContain('1 line in 1 account looks like an upgrade never ended');
    expect(d?.message).toContain('100.00 MRR, 5.56% of MRR in 2024-12');
    expect(d?.message).toContain('U1: U1-old → U1-new');
    expect(d?.message).toContain('end the old line on the day the new one starts');
    expect(d?.accounts).toEqual(['U1']);
    expect(r.plausibility.overlaps.lines).toBe(1);
  });
});

describe('plausibility in the report', () => {
  let report: Report;
  const files: Record<string, FileContent> = {
    'subscriptions.csv': [
      SUBS,
      // P1: $100 a month becomes $292 with a second line never ending the first: 292 % NRR.
      ['P1', 'P1-a', 'core', '2023-01-01', null, 100, 'month'],
      ['P1', 'P1-b', 'core', '2024-03-01', null, 192, 'month'],
      // A plan tier named "Enterprise" whose accounts pay $12K a year.
      ['E1', 'E1-a', 'core', '2023-01-01', null, 1000, 'month'],
      ['E1', 'E1-b', 'addon', '2024-06-01', null, 50, 'month'],
      ['E2', 'E2-a', 'core', '2023-01-01', null, 1000, 'month'],
      ['E3', 'E3-a', 'core', '2023-01-01', null, 1000, 'month'],
    ],
    'accounts.csv': [['account_id', 'segment'], ['P1', 'Growth'], ['E1', 'Enterprise'], ['E2', 'Enterprise'], ['E3', 'Enterprise']],
  };
  const row = (r: Report, by: string, group: string): GroupRow => r.groups.find((g) => g.by === by)!.rows.find((x) => x.group === group)!;
  const workspace = fixtureWorkspace(files, { min_group_accounts: 3 });
  beforeAll(async () => {
    report = await buildReport(workspace());
  });

  it('marks a 292 % NRR implausible, never top quartile, and names the account behind it', () => {
    const growth = row(report, 'segment', 'Growth');
    expect(growth.nrr).toBeCloseTo(2.92, 12);
    expect(growth.nrr_plausible).toBe(false);
    expect(growth.benchmark?.standing).toBe('implausible');
    const d = report.diagnostics.find((x) => x.id === 'implausible_nrr');
    expect(d?.message).toContain("segment 'Growth': NRR 292.0% is outside the plausible range for a 12-month window (50.0%–200.0%)");
    expect(d?.message).toContain('P1 100 → 292');
    expect(d?.accounts).toEqual(['P1']);
    // The whole company, (100 + 3,000) → (292 + 3,050), is plausible.
    expect(report.headline.t12m.nrr).toBeCloseTo(3342 / 3100, 12);
    expect(report.headline.t12m.nrr_plausible).toBe(true);
  });

  it('compares a group named "Enterprise" with $12K ACV against the SMB benchmark', () => {
    const ent = row(report, 'segment', 'Enterprise');
    expect(ent.median_acv?.value).toBe('12000');
    expect(ent.nrr).toBeCloseTo(3050 / 3000, 12);
    expect(ent.benchmark).toMatchObject({ benchmark: 'smb', matched_by: 'acv', standing: 'top quartile' });
  });

  it('follows the benchmark: mapping of the config where it names the group', async () => {
    const r = await buildReport(workspace(), { benchmarks: { segment: { Enterprise: 'enterprise' } } });
    expect(row(r, 'segment', 'Enterprise').benchmark).toMatchObject({ benchmark: 'enterprise', matched_by: 'config', standing: 'below median' });
    expect(row(r, 'segment', 'Growth').benchmark).toMatchObject({ benchmark: 'smb', matched_by: 'acv', standing: 'implausible' });
  });

  it('flags groups below min_group_accounts with one threshold, at its edge', async () => {
    // Three Enterprise accounts with min_group_accounts 3: not small; Growth's one account: small.
    expect(row(report, 'segment', 'Enterprise').small_group).toBe(false);
    expect(row(report, 'segment', 'Growth').small_group).toBe(true);
    expect(report.diagnostics.filter((x) => x.id === 'small_group').map((x) => x.message.split(':')[0])).toContain("segment 'Growth'");
    await withFixture(files, { min_group_accounts: 4 }, async (ws4) => {
      const bySegment = await metrics(ws4, { window: 12, by: 'segment' });
      expect(bySegment.map((r) => [r.group, r.small_group])).toEqual([
        ['Enterprise', true],
        ['Growth', true],
      ]);
      // The whole company has four starting accounts: not below 4; nor is its one cohort of four.
      expect((await metrics(ws4, { window: 12 }))[0]!.small_group).toBe(false);
      expect((await cohortTable(ws4, 'quarter')).map((c) => [c.cohort, c.accounts, c.small_group])).toEqual([['2023-Q1', 4, false]]);
    });
    await withFixture(files, { min_group_accounts: 5 }, async (ws5) => {
      expect((await cohortTable(ws5, 'quarter')).map((c) => c.small_group)).toEqual([true]);
      expect(renderMarkdown(await buildReport(ws5))).toMatch(/\| 2023-Q1 ⚠ small group \| 4 \|/);
    });
  });

  it('marks small groups and implausible NRR in Markdown and HTML', () => {
    const md = renderMarkdown(report);
    expect(md).toMatch(/\| Growth ⚠ small group \| 292\.0% ⚠ implausible \|/);
    expect(md).toMatch(/\| Enterprise \| 101\.7% \|/);
    expect(md).toContain('⚠ small group = fewer than 3 starting accounts');
    const html = renderHtml(report);
    expect(html).toContain('Growth <span class="warning">⚠ small group</span>');
    expect(html).toContain('292.0% <span class="warning">⚠ implausible</span>');
  });

  it('warns when the average method compounds a tiny cohort', async () => {
    await withFixture(files, { min_group_accounts: 3, nrr_method: 'average' }, async (wsAvg) => {
      const r = await buildReport(wsAvg);
      const growth = r.diagnostics.find((x) => x.id === 'tiny_cohort' && x.message.startsWith("segment 'Growth'"));
      expect(growth?.message).toContain('NRR by the average method on a tiny cohort (fewer than 3 accounts)');
      expect(r.diagnostics.some((x) => x.id === 'tiny_cohort' && x.message.startsWith("segment 'Enterprise'"))).toBe(false);
    });
  });
});
