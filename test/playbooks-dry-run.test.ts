import { afterAll, describe, expect, it } from 'vitest';
import { NrrError, Workspace } from '../src/index.js';
import { backtest } from '../src/playbooks/backtest.js';
import { dryRun } from '../src/playbooks/dry-run.js';
import { DEFAULT_PLAYBOOKS } from '../src/playbooks/playbook-config.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Three accounts on 2024-06-30: big and full of seats; small and falling before renewal; quiet. */
const FILES = {
  'subscriptions.csv': csv(
    'account_id,start_date,end_date,amount,interval',
    'BIG,2024-01-01,2025-01-01,150000,year',
    'SMALL,2023-09-01,2024-09-01,6000,year',
    'QUIET,2024-01-01,,100,month',
  ),
  'accounts.csv': csv('account_id,name,csm_owner,am_owner', 'BIG,Big Co,Cara,Abe', 'SMALL,Small Co,Cara,Abe', 'QUIET,Quiet Co,Dev,Abe'),
  'seats.csv': csv('account_id,month,seats_purchased,seats_active', 'BIG,2024-05,100,90', 'BIG,2024-06,100,95', 'SMALL,2024-06,10,4', 'QUIET,2024-06,5,3'),
  // Every week from 2024-01-08 to 2024-06-24 (a week left out would count as no users): SMALL has
  // 10 users a week until 2024-03-25, then 4; QUIET 3 throughout.
  'product_usage.csv': csv(
    'account_id,week,active_users',
    ...Array.from({ length: 25 }, (_, k) => new Date(Date.UTC(2024, 0, 8 + 7 * k)).toISOString().slice(0, 10)).flatMap((week, k) => [
      `SMALL,${week},${k < 12 ? 10 : 4}`,
      `QUIET,${week},3`,
    ]),
  ),
};

const CONFIG = `version: 1
playbooks:
  - name: expansion
    when: seat_utilization > 0.8 and tier in (1, 2)
    task: { type: expansion, priority: high, due_days: 14, owner: { by_tier: { "1": am, "2": csm, "3": digital } } }
  - name: save
    when: days_to_renewal <= 90 and usage_trend_90d < -0.25
    task: { type: save, priority: urgent, due_days: 7, owner: csm }
`;

async function open(config: string): Promise<Workspace> {
  const dir = fixtureDir({ ...FILES, 'nrr.config.yaml': config });
  dirs.push(dir);
  return Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06' } });
}

describe('nrr playbooks dry-run', () => {
  it('lists who enters each play, routed by tier, with the values that fired it', async () => {
    const ws = await open(CONFIG);
    try {
      const run = await dryRun(ws, { asOf: '2024-06-30' });
      expect(run.date).toBe('2024-06-30');
      const [expansion, save] = run.plays;
      expect(expansion!.entering.map((e) => e.account_id)).toEqual(['BIG']);
      // ARR 150,000: Tier 1, routed to the AM; utilisation 95 %, two months above 80 %.
      expect(expansion!.entering[0]).toMatchObject({
        tier: 'Tier 1',
        owner: 'Abe',
        task_type: 'expansion',
        priority: 'high',
        due_date: '2024-07-14',
        because: 'seat_utilisation = 0.950, tier = 1',
        top_reason: 'seat utilisation 95 % for 2 months',
      });
      // SMALL renews on 2024-09-01 (63 days) and its users fell from 10 to 4 a week (−60 %).
      expect(save!.entering.map((e) => e.account_id)).toEqual(['SMALL']);
      expect(save!.entering[0]).toMatchObject({
        owner: 'Cara',
        due_date: '2024-07-07',
        because: 'days_to_renewal = 63, usage_trend_90d = -0.600',
        top_reason: 'usage −60 % against the prior 90 days, renewal in 63 days',
      });
    } finally {
      ws.close();
    }
  });

  it('refuses a config whose trigger does not compile, naming the playbook and the position', async () => {
    const bad = CONFIG.replace('seat_utilization > 0.8', 'seat_utilization >> 0.8');
    const e = await open(bad).then(
      (ws) => (ws.close(), undefined),
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toMatch(/nrr\.config\.yaml: playbook 'expansion', when: expected a field or a value, found '>' at position 19/);
  });

  it('the built-in plays all compile and run', async () => {
    const ws = await open('version: 1\n');
    try {
      const run = await dryRun(ws, { asOf: '2024-06-30' });
      expect(run.plays.map((p) => p.playbook.name)).toEqual(DEFAULT_PLAYBOOKS.map((p) => p.name));
    } finally {
      ws.close();
    }
  });
});

describe('nrr playbooks backtest', () => {
  it('on an old export ends its snapshots before the last month the data covers, not before today', async () => {
    // The files end on 2024-06-30 and today is 2026-12-02: the data looks like an export from then,
    // and C1's line "ending" in 2024-07 tells nothing of 2026. The last snapshot with a known outcome
    // is three month-ends before 2024-06.
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,start_date,end_date,amount,interval', 'C1,2023-01-01,2024-07-01,100,month', 'C2,2024-06-30,,100,month'),
      'seats.csv': csv('account_id,month,seats_purchased,seats_active', 'C1,2024-06,10,2'),
    });
    dirs.push(dir);
    const ws = await Workspace.open({ data: dir, signals: true, today: new Date('2026-12-02T00:00:00Z') });
    try {
      expect(ws.summary.asOf).toBe('2026-11');
      expect(ws.summary.stale?.latest_date).toBe('2024-06-30');
      const b = await backtest(ws);
      expect(b.to).toBe('2024-03');
      expect(b.from).toBe('2023-04');
    } finally {
      ws.close();
    }
  });

  it('on a hand-made history: fires, precision, base rate, recall of lost ARR and lead time', async () => {
    // C1's seats go idle in April and it leaves in mid-July; C2 dips in May and stays; C3 is never
    // flagged and contracts from 200 to 150 in August.
    const dir = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,start_date,end_date,amount,interval',
        'C1,2024-01-01,2024-07-15,100,month',
        'C2,2024-01-01,,100,month',
        'C3,2024-01-01,2024-08-01,200,month',
        'C3,2024-08-01,,150,month',
      ),
      'seats.csv': csv(
        'account_id,month,seats_purchased,seats_active',
        'C1,2024-03,10,8',
        'C1,2024-04,10,4',
        'C1,2024-05,10,4',
        'C1,2024-06,10,4',
        'C2,2024-05,10,3',
        'C2,2024-06,10,9',
        'C3,2024-03,10,9',
      ),
      'nrr.config.yaml': 'version: 1\nplaybooks:\n  - name: idle-seats\n    when: seat_utilisation < 0.5\n    task: { type: save }\n',
    });
    dirs.push(dir);
    const ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-12' } });
    try {
      const b = await backtest(ws, { from: '2024-03', to: '2024-09' });
      expect(b.snapshots).toBe(7);
      const p = b.plays[0]!;
      // Entries: C1 on 2024-04-30, C2 on 2024-05-31. Three month-ends later C1 is gone, C2 unchanged.
      expect(p).toMatchObject({ playbook: 'idle-seats', target: 'loss', fires: 2, followed_by_churn: 1, followed_by_contraction: 0, precision: 0.5 });
      // Account-months with a known outcome: C1 4 (3 of them before its churn), C2 7, C3 7 (3 before its contraction).
      expect(p.base_rate).toBeCloseTo(6 / 18, 12);
      // Lost ARR: C1 1,200 (flagged since 2024-04-30), C3 600 (never flagged).
      expect(p.target_arr.value).toBe('1800');
      expect(p.flagged_arr.value).toBe('1200');
      expect(p.recall_arr).toBeCloseTo(2 / 3, 12);
      expect(p.median_lead_days).toBe(92); // 2024-04-30 → 2024-07-31
      // The counts behind each figure: 1 hit of 2 known fires, 6 cases of 18 account-months, 2 lost-ARR events.
      expect(p).toMatchObject({ hits: 1, fires_known: 2, target_cases: 6, account_months: 18, target_events: 2 });
      expect(p.lift).toBeCloseTo(0.5 / (6 / 18), 12);
      expect(p.lift_low!).toBeLessThanOrEqual(p.lift!);
      expect(p.lift_high!).toBeGreaterThanOrEqual(p.lift!);
      expect(p.judged).toBe(false);
      expect(p.verdict).toBe('too few fires followed by churn or contraction (1) to judge');
      expect(b.min_events).toBe(20);
    } finally {
      ws.close();
    }
  });
});
