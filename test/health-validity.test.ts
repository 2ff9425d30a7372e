import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scoreAccounts } from '../src/accounts/account-records.js';
import { compareColours, healthValidity } from '../src/accounts/health-validity.js';
import { MIN_EVENTS, bootstrapIntervals, lift, rankingFigures, rankingVerdict, rocAuc, type ClusteredScore } from '../src/accounts/predictive-power.js';
import { Workspace } from '../src/index.js';
import { createApp } from '../src/serve/api-app.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const dirs: string[] = [];
const workspaces: Workspace[] = [];
afterAll(() => {
  workspaces.forEach((w) => w.close());
  dirs.forEach(removeDir);
});

/**
 * 4 positives and 6 negatives. Pairs (positive above negative = 1, tie = ½): 0.9 and 0.8 beat all 6;
 * 0.4 beats 0.3, 0.2, 0.1 and ties the negative 0.4 (3.5); 0.35 beats 0.3, 0.2, 0.1 (3).
 * AUC = (6 + 6 + 3.5 + 3) ÷ (4 × 6) = 18.5 / 24.
 */
const TEN: ClusteredScore[] = [
  ...[0.9, 0.8, 0.4, 0.35].map((score) => ({ score, positive: true })),
  ...[0.7, 0.4, 0.5, 0.3, 0.2, 0.1].map((score) => ({ score, positive: false })),
].map((p, i) => ({ ...p, cluster: i }));

/** The ten points `times` times over, each copy its own account (or all copies of a point one account). */
function repeated(times: number, sameAccount = false): ClusteredScore[] {
  return Array.from({ length: times }, (_, k) => TEN.map((p, i) => ({ ...p, cluster: sameAccount ? i : k * 10 + i }))).flat();
}

describe('AUC and lift, hand-checked', () => {
  it('AUC by ranks with ties counted half', () => {
    expect(rocAuc(TEN)).toBeCloseTo(18.5 / 24, 12);
    expect(rocAuc(TEN.map((p) => ({ ...p, score: -p.score })))).toBeCloseTo(1 - 18.5 / 24, 12);
    expect(rocAuc(TEN.filter((p) => p.positive))).toBeNull();
  });

  it('lift of the top share: the top 1 of 10 is positive (1 ÷ 0.4); the top 3 hold 2 (⅔ ÷ 0.4)', () => {
    expect(lift(TEN)).toBeCloseTo(2.5, 12);
    expect(lift(TEN, 0.3)).toBeCloseTo(2 / 3 / 0.4, 12);
  });

  it('the figures carry their counts; the point estimates are those above', () => {
    const f = rankingFigures(TEN, { resamples: 200 });
    expect(f).toMatchObject({ positives: 4, negatives: 6, total: 10, judged: false });
    expect(f.auc).toBeCloseTo(18.5 / 24, 12);
    expect(f.lift_top_decile).toBeCloseTo(2.5, 12);
  });
});

describe('95 % bootstrap intervals', () => {
  it('contain the point estimate and are the same on every run with the same seed', () => {
    const points = repeated(5);
    const a = rankingFigures(points, { seed: 7 });
    const b = rankingFigures(points, { seed: 7 });
    expect(b).toEqual(a);
    expect(a.auc_low!).toBeLessThanOrEqual(a.auc!);
    expect(a.auc_high!).toBeGreaterThanOrEqual(a.auc!);
    expect(a.auc_low!).toBeLessThan(a.auc_high!);
    expect(a.lift_low!).toBeLessThanOrEqual(a.lift_top_decile!);
    expect(a.lift_high!).toBeGreaterThanOrEqual(a.lift_top_decile!);
  });

  it('shrink with more accounts', () => {
    const width = (points: ClusteredScore[]): number => {
      const f = rankingFigures(points);
      return f.auc_high! - f.auc_low!;
    };
    const [w10, w100, w1000] = [width(TEN), width(repeated(10)), width(repeated(100))];
    expect(w100).toBeLessThan(w10);
    expect(w1000).toBeLessThan(w100 / 2); // ~1/√10 of it
  });

  it('resample accounts, not snapshots: the same ten accounts seen ten times are no surer than seen once', () => {
    const f = rankingFigures(repeated(10, true));
    const once = rankingFigures(TEN);
    expect(f.auc).toBeCloseTo(once.auc!, 12);
    expect(f.auc_high! - f.auc_low!).toBeCloseTo(once.auc_high! - once.auc_low!, 12);
  });

  it('refuse a number of resamples that is not a whole number from 0 to 100000, with a clear error', () => {
    expect(() => bootstrapIntervals(4, [() => 1], { resamples: -1 })).toThrow('--resamples: expected 0 to 100000, got -1');
    expect(bootstrapIntervals(4, [() => 1], { resamples: 0 })).toEqual([{ low: null, high: null }]);
  });

  it('a mean of draws: the share of draws landing on account 0 is about 1/4, within its interval', () => {
    const [i] = bootstrapIntervals(4, [(w) => w[0]! / 4], { resamples: 2000 });
    // w[0] is Binomial(4, 1/4): 0, ¼, ½ … its 2.5 % and 97.5 % quantiles are 0 and ¾.
    expect(i).toEqual({ low: 0, high: 0.75 });
  });
});

describe('verdicts', () => {
  /** `n` positives all above `n` negatives: perfect ranking. */
  const perfect = (n: number): ClusteredScore[] =>
    Array.from({ length: 2 * n }, (_, i) => ({ score: i, positive: i >= n, cluster: i }));

  it(`are refused below ${MIN_EVENTS} cases, whatever the AUC`, () => {
    const f = rankingFigures(perfect(MIN_EVENTS - 1), { resamples: 200 });
    expect(f.auc).toBe(1);
    expect(f.judged).toBe(false);
    expect(rankingVerdict(f, 'churn')).toBe(`too few churn cases (${MIN_EVENTS - 1}) to judge`);
  });

  it(`are given from ${MIN_EVENTS} cases on, by the interval against chance`, () => {
    const f = rankingFigures(perfect(MIN_EVENTS), { resamples: 200 });
    expect(f.judged).toBe(true);
    expect(rankingVerdict(f, 'churn')).toBe('ranks churn better than chance');
    const coin = rankingFigures(repeated(10).map((p, i) => ({ ...p, score: i % 2 })), { resamples: 200 });
    expect(rankingVerdict(coin, 'churn')).toBe('not distinguishable from chance at ranking churn');
  });

  it('red is compared with green only when both have accounts, with the counts', () => {
    const empty = { group: 'red', n: 0, churned: 0, contracted: 0, lost: 0, churn_rate: null, contraction_rate: null, loss_rate: null };
    const green = { group: 'green', n: 400, churned: 20, contracted: 0, lost: 20, churn_rate: 0.05, contraction_rate: 0, loss_rate: 0.05 };
    const red = { group: 'red', n: 40, churned: 10, contracted: 0, lost: 10, churn_rate: 0.25, contraction_rate: 0, loss_rate: 0.25 };
    for (const [r, g] of [[empty, green], [red, { ...empty, group: 'green' }], [empty, { ...empty, group: 'green' }]] as const) {
      const c = compareColours(r, g);
      expect(c.ratio).toBeNull();
      expect(c.verdict).not.toContain('as often');
      expect(c.verdict).toContain('no comparison');
    }
    const c = compareColours(red, green);
    expect(c.ratio).toBeCloseTo(5, 12);
    expect(c.verdict).toBe('red accounts churned 5.0× as often as green ones (red 10 of 40, green 20 of 400)');
    expect(compareColours({ ...red, churned: 2 }, { ...green, churned: 3 }).verdict).toBe(
      'too few churn cases among red and green accounts (5) to compare them (red 2 of 40, green 3 of 400)',
    );
  });
});

/**
 * Snapshot 2024-03-31, outcomes over the next 90 days. C1 and C2 halve their usage, C3 and C4 keep
 * it; C1 and C3 do not renew on 2024-05-01 (churn), C2 and C4 do. Among them risk ranks churn no
 * better than chance: AUC = (½ + 1 + 0 + ½) ÷ 4 = 0.5. N1–N4 renew and have no signal data: scored
 * as risk 0 they would sit at the bottom with the non-churners and lift the AUC to 8 ÷ 12.
 */
function noSignalFolder(): string {
  const lines = ['account_id,start_date,end_date,amount,interval'];
  for (const a of ['C1', 'C2', 'C3', 'C4', 'N1', 'N2', 'N3', 'N4']) {
    lines.push(`${a},2023-05-01,2024-05-01,1200,year`);
    if (!['C1', 'C3'].includes(a)) lines.push(`${a},2024-05-01,2025-05-01,1200,year`);
  }
  const dir = fixtureDir({
    'subscriptions.csv': csv(...lines),
    'product_usage.csv': csv(
      'account_id,week,active_users',
      ...['C1', 'C2'].flatMap((a) => [`${a},2023-11-06,10`, `${a},2024-02-05,5`]),
      ...['C3', 'C4'].flatMap((a) => [`${a},2023-11-06,10`, `${a},2024-02-05,10`]),
    ),
  });
  dirs.push(dir);
  return dir;
}

describe('accounts without signal data', () => {
  it('are not scored: no risk, readiness or health, and their tier follows ARR', async () => {
    const ws = await Workspace.open({ data: noSignalFolder(), signals: true, policies: { as_of: '2024-03' } });
    workspaces.push(ws);
    const scored = new Map((await scoreAccounts(ws, { asOf: '2024-03-31' })).map((s) => [s.record.account_id, s]));
    const n1 = scored.get('N1')!;
    expect(n1.record.signal_sources).toEqual([]);
    expect(n1.risk).toEqual({ score: null, level: null, reasons: [], not_scored: 'no signal data' });
    expect(n1.expansion.score).toBeNull();
    expect(n1.health).toMatchObject({ score: null, colour: null, not_scored: 'no signal data' });
    expect(n1.tier).toBe('Tier 3');
    const c1 = scored.get('C1')!;
    expect(c1.record.signal_sources).toEqual(['product_usage']);
    expect(c1.risk.score).toBeGreaterThan(0);
    expect(scored.get('C3')!.risk).toMatchObject({ score: 0, level: 'low', reasons: [] });
  });

  it('are left out of the validity figures, which count only scored account-snapshots', async () => {
    const ws = await Workspace.open({ data: noSignalFolder(), signals: true, policies: { as_of: '2024-06' } });
    workspaces.push(ws);
    const v = await healthValidity(ws, { months: 1, resamples: 200 });
    expect(v.snapshots).toEqual(['2024-03-31']);
    expect(v.overall).toMatchObject({ n: 8, churned: 2 });
    expect(v.not_scored).toEqual({ health: 4, risk: 4 });
    expect(v.by_colour.at(-1)).toMatchObject({ group: 'not scored', n: 4, churned: 0 });
    expect(v.by_colour.reduce((n, c) => n + c.n, 0)).toBe(8);
    const risk = v.scores.find((s) => s.score === 'risk' && s.outcome === 'churn')!;
    expect(risk).toMatchObject({ positives: 2, negatives: 2, total: 4, auc: 0.5, judged: false, verdict: 'too few churn cases (2) to judge' });
    expect(v.calibration.reduce((n, c) => n + c.n, 0)).toBe(4);
  });

  it('the API gives them no score and says why, and sorts them after every scored account', async () => {
    const ws = await Workspace.open({ data: noSignalFolder(), signals: true, policies: { as_of: '2024-03' } });
    workspaces.push(ws);
    const app = createApp(ws);
    const list = (await (await app.request('/api/accounts?sort=risk')).json()) as { rows: { account_id: string; churn_risk: number | null; risk_reason: string | null }[] };
    expect(list.rows.slice(0, 4).map((r) => r.churn_risk !== null)).toEqual([true, true, true, true]);
    const n1 = list.rows.find((r) => r.account_id === 'N1')!;
    expect(n1).toMatchObject({ churn_risk: null, risk_reason: 'not scored: no signal data' });
    const one = (await (await app.request('/api/accounts/N1')).json()) as { scored: { risk: { score: number | null; not_scored?: string } } };
    expect(one.scored.risk).toMatchObject({ score: null, not_scored: 'no signal data' });
  });

  it('nrr account says "not scored: no signal data", never a risk of 0', () => {
    const r = spawnSync(process.execPath, [BIN, 'account', 'N1', '--data', noSignalFolder(), '--as-of', '2024-03-31'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Churn risk\s+not scored: no signal data/);
    expect(r.stdout).toMatch(/Health\s+not scored: no signal data/);
    expect(r.stdout).not.toContain('nothing points that way');
    expect(r.stdout).not.toMatch(/executive sponsor\s+none/);
    expect(r.stdout).not.toContain('not due yet');
  });

  it('nrr health validate --format json carries positives and an interval with every AUC', () => {
    const r = spawnSync(process.execPath, [BIN, 'health', 'validate', '--data', noSignalFolder(), '--as-of', '2024-06', '--months', '1', '--format', 'json'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const v = JSON.parse(r.stdout) as { scores: Record<string, unknown>[] };
    expect(v.scores).toHaveLength(4);
    for (const s of v.scores) for (const k of ['auc', 'positives', 'auc_low', 'auc_high']) expect(s).toHaveProperty(k);
  });
});
