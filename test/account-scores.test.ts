import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountRecords, scoreAccounts, scoreRecords, snapshotDate } from '../src/accounts/account-records.js';
import { materializeAccountScores, readAccountScores } from '../src/accounts/account-scores.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { stringifyJson } from '../src/money.js';
import { Workspace } from '../src/workspace/workspace.js';

// The scores computed in SQL are the scores of the reference implementation in JavaScript
// (health-score.ts, risk-scores.ts, tiering.ts), to the last bit: JSON prints every double in full.
let dir: string;
let ws: Workspace;

const minusDays = (date: string, days: number): string => new Date(Date.parse(date) - days * 86_400_000).toISOString().slice(0, 10);

async function reference(date: string): Promise<string> {
  const earlier = minusDays(date, ws.scoring.health.compare_days);
  const all = await accountRecords(ws, [earlier, date]);
  const now = all.filter((r) => r.snapshot_date === date);
  const then = all.filter((r) => r.snapshot_date === earlier && r.active);
  return stringifyJson(scoreRecords(ws, now, then));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-scores-'));
  await generateCompany({ out: dir, accounts: 300, months: 30, seed: 5, end: '2026-06' });
  // Every policy of missing data, a missing_value, fractional weights, segments and tiers of the config's own.
  appendFileSync(
    join(dir, 'nrr.config.yaml'),
    `
health:
  green: 66.5
  yellow: 33.3
  compare_days: 31
  default:
    missing: reweight
    measures:
      usage_trend_90d:            { healthy: 0.1,  at_risk: -0.3, weight: 2.5, group: product }
      seat_utilisation:           { healthy: 0.7,  at_risk: 0.35, weight: 1.5, group: product }
      feature_breadth:            { healthy: 0.67, at_risk: 0.2,  weight: 0.5, group: product }
      qbr_completion_12m:         { healthy: 0.9,  at_risk: 0.4,  weight: 1.5, group: "it's relationship" }
      days_since_sponsor_engaged: { healthy: 30,   at_risk: 120,  weight: 1,   group: "it's relationship" }
      escalations_90d:            { healthy: 0,    at_risk: 2,    weight: 1,   group: support }
      ticket_trend_90d:           { healthy: 0,    at_risk: 1,    weight: 0.3, group: support }
      activation_achieved:        { healthy: 1,    at_risk: 0,    weight: 1,   group: onboarding }
      mrr_change_90d:             { healthy: 0,    at_risk: -0.2, weight: 0.7, group: billing }
      days_to_renewal:            { healthy: 200,  at_risk: 30,   weight: 0.4, group: billing }
      headcount_change_12m:       { healthy: 0.1,  at_risk: -0.1, weight: 0.9, group: firmographics }
  segments:
    self-serve:
      missing: neutral
      measures:
        usage_trend_30d:  { healthy: 0.05, at_risk: -0.25, weight: 60, group: product }
        seat_utilisation: { healthy: 0.6,  at_risk: 0.3,   weight: 40, group: product, missing_value: 0.5 }
        days_to_first_value: { healthy: 30, at_risk: 120, weight: 7, group: onboarding }
    smb:
      missing: zero
      measures:
        sponsor_changes_12m: { healthy: 0, at_risk: 2, weight: 5, group: relationship }
        tickets_90d: { healthy: 1, at_risk: 9, weight: 3, group: support }
        days_since_funding: { healthy: 100, at_risk: 700, weight: 3, group: firmographics }
tiers:
  - { name: "Key 'A'", when: [{ min_arr: 60000 }, { min_arr: 20000.5, min_expansion_readiness: 30 }] }
  - { name: Growth, when: [{ min_expansion_readiness: 25.5 }] }
  - { name: Rest }
`,
  );
  ws = await Workspace.open({ data: dir, signals: true, today: new Date('2026-07-01T00:00:00Z') });
});

afterAll(() => {
  ws?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('account scores in SQL', () => {
  it('are the reference scores to the last bit: health with its measures, groups and change, risk, readiness, tier', async () => {
    for (const date of ['2026-06-30', '2025-11-15']) {
      const expected = await reference(date);
      await materializeAccountScores(ws, { days: [date] });
      const scored = await readAccountScores(ws, { date });
      const got = stringifyJson(scored);
      expect(got).toBe(expected);
      // The fixture reaches every branch: each definition, each tier, halved risk, changes with movers, reasons of both scores.
      expect(new Set(scored.map((s) => s.health.definition))).toEqual(new Set(['default', 'self-serve', 'smb']));
      expect(new Set(scored.map((s) => s.tier))).toEqual(new Set(["Key 'A'", 'Growth', 'Rest']));
      expect(new Set(scored.map((s) => s.health.colour))).toEqual(new Set(['green', 'yellow', 'red', null]));
      expect(scored.some((s) => s.risk.note)).toBe(true);
      expect(scored.some((s) => (s.change?.movers.length ?? 0) > 1)).toBe(true);
      expect(scored.some((s) => s.expansion.reasons.length > 1 && s.risk.reasons.length > 2)).toBe(true);
    }
  });

  it('computes several days in one table, each as the reference does', async () => {
    const days = ['2025-09-30', '2025-10-31', '2026-03-31'];
    await materializeAccountScores(ws, { days, table: 'several_days', change: false });
    for (const date of days) {
      const expected = scoreRecords(ws, await accountRecords(ws, [date]));
      const got = await readAccountScores(ws, { table: 'several_days', date });
      expect(stringifyJson(got.map((s) => ({ ...s, change: null })))).toBe(stringifyJson(expected));
    }
  });

  it('restricted to a relation of accounts, computes only those, with the same scores; insert mode appends', async () => {
    const date = snapshotDate('2026-05');
    await materializeAccountScores(ws, { days: [date] });
    const all = await readAccountScores(ws, { date });
    const some = all.filter((_, i) => i % 7 === 3).map((s) => s.record.account_id);
    await ws.driver.exec(`CREATE OR REPLACE TABLE changed AS SELECT unnest([${some.map((x) => `'${x}'`).join(', ')}]) AS account_id`);
    await materializeAccountScores(ws, { days: [date], accounts: 'changed', table: 'partial' });
    const part = await readAccountScores(ws, { table: 'partial' });
    expect(part.map((s) => s.record.account_id)).toEqual(some);
    expect(stringifyJson(part)).toBe(stringifyJson(all.filter((s) => some.includes(s.record.account_id))));
    await materializeAccountScores(ws, { days: ['2026-04-30'], accounts: 'changed', table: 'partial', mode: 'insert' });
    const [n] = await ws.query("SELECT count(DISTINCT snapshot_date) AS days FROM partial");
    expect(Number(n!['days'])).toBe(2);
    const [one] = await readAccountScores(ws, { table: 'partial', date, accountId: some[1] });
    expect(stringifyJson(one)).toBe(stringifyJson(all.find((s) => s.record.account_id === some[1])));
  });

  it('scores one account alone for `nrr account`: the same as among all, and only it is computed', async () => {
    const all = await scoreAccounts(ws, { asOf: '2026-06-30', includeInactive: true });
    const one = all[17]!;
    const [alone] = await scoreAccounts(ws, { asOf: '2026-06-30', accountId: one.record.account_id, includeInactive: true });
    expect(stringifyJson(alone)).toBe(stringifyJson(one));
    const [n] = await ws.query('SELECT count(*) AS n FROM account_scores');
    expect(Number(n!['n'])).toBe(1);
  });

  it('refuses a relation name that is not a plain name', async () => {
    await expect(materializeAccountScores(ws, { days: ['2026-06-30'], accounts: 'x; DROP TABLE lines' })).rejects.toThrow(/table or view name/);
    await expect(materializeAccountScores(ws, { days: ['2026-06-30'], table: 'a b' })).rejects.toThrow(/table or view name/);
  });
});
