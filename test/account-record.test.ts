import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountRecords, scoreAccounts, type AccountRecord } from '../src/accounts/account-records.js';
import { healthValidity } from '../src/accounts/health-validity.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { NrrError, Workspace } from '../src/index.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * A hand-made workspace seen on 2024-06-30. Every expected figure below is worked out by hand from
 * these rows; `FUTURE` adds rows dated after that day, which must change nothing as of it.
 */
const D = '2024-06-30';
const BASE: Record<string, string[]> = {
  'subscriptions.csv': [
    'account_id,line_id,product,start_date,end_date,amount,interval,discount,currency',
    'A1,L1,platform,2024-01-01,2025-01-01,12000,year,,USD', // MRR 1,000
    'A1,L2,addon,2024-05-15,2025-01-01,2400,year,,USD', // MRR 200 from mid-May
    'A2,L3,platform,2024-02-01,,100,month,,EUR', // 100 EUR × 1.1
    'A3,L4,platform,2024-01-01,2024-04-01,300,month,,USD', // gone in April
  ],
  'accounts.csv': ['account_id,name,segment', 'A1,One,enterprise', 'A2,Two,smb', 'A3,Three,smb'],
  'fx_rates.csv': ['currency,month,rate', 'EUR,2024-01,1.1'],
  // Every week from 2024-01-08 to 2024-06-24, the last one over by the day: a week left out would
  // count as a week of zeros (docs/data-contract.md#product_usage).
  'product_usage.csv': ['account_id,week,active_users,key_events,api_calls,adjacent_feature_users', ...weeklyUsage()],
  'seats.csv': ['account_id,month,seats_purchased,seats_active', 'A1,2024-04,20,15', 'A1,2024-05,20,17', 'A1,2024-06,20,18'],
  'onboarding.csv': [
    'account_id,milestone,target_date,achieved_date',
    'A1,first_value,2024-03-01,2024-02-15',
    'A1,activation,2024-03-31,2024-04-10',
    'A2,activation,2024-05-01,2024-08-01', // reached only after the day: not reached as of it
  ],
  'meetings.csv': ['meeting_id,account_id,type,scheduled_date,status', 'M1,A1,qbr,2024-02-15,held', 'M2,A1,qbr,2024-05-15,skipped'],
  'contacts.csv': [
    'contact_id,account_id,name,role,start_date,end_date,last_engaged',
    'S1,A1,Ann,executive_sponsor,2024-01-01,2024-06-01,2024-05-20',
    'S2,A2,Bo,executive_sponsor,2024-02-01,,2024-06-10',
  ],
  'tickets.csv': [
    'ticket_id,account_id,opened_date,closed_date,priority,escalated',
    'T1,A1,2024-06-10,2024-06-12,urgent,true',
    'T2,A1,2024-05-01,2024-07-10,normal,false', // still open on the day
    'T3,A1,2024-02-01,2024-02-02,low,false', // the 90 days before
  ],
  'enrichment.csv': [
    'account_id,date,headcount,funding_round,funding_amount',
    'A1,2023-06-01,100,,',
    'A1,2024-03-01,120,series_a,5000000',
    'A1,2024-06-01,130,,',
  ],
  'opportunities.csv': [
    'opportunity_id,account_id,type,sourced_by,amount,currency,stage,created_date,close_date',
    'O1,A1,expansion,cs,2400,USD,won,2024-06-01,2024-08-01', // won after the day: open on it
    'O0,A1,expansion,cs,999,USD,lost,2024-03-01,2024-04-01', // closed before the day
  ],
};

/**
 * A1's weeks: 7 of 11 users then 9, 9, 9, 8, 8 (the 90 days before the last 90: 120 ÷ 12 = 10); seven
 * of 8 and one of 5 from 2024-04-01 (the 90 days before the last 30: 43 + 61 = 104 ÷ 13 = 8); five of
 * 6 from 2024-05-27 (the last 30 days: 6; the last 90: 91 ÷ 13 = 7), with key events and 2 adjacent
 * users, no API.
 */
function weeklyUsage(): string[] {
  const users = [11, 11, 11, 11, 11, 11, 11, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 8, 8, 5, 6, 6, 6, 6, 6];
  return users.map((n, k) => {
    const week = new Date(Date.UTC(2024, 0, 8 + 7 * k)).toISOString().slice(0, 10);
    return k < 20 ? `A1,${week},${n},${5 * n},0,0` : `A1,${week},${n},5,0,2`;
  });
}

const FUTURE: Record<string, string[]> = {
  'subscriptions.csv': ['A1,L5,platform,2024-07-01,2025-01-01,6000,year,,USD', 'A3,L6,platform,2024-07-15,,300,month,,USD'],
  'product_usage.csv': ['A1,2024-07-01,100,900,50,9'],
  'seats.csv': ['A1,2024-07,40,5'],
  'onboarding.csv': ['A3,activation,2024-09-01,2024-07-20'],
  'meetings.csv': ['M3,A1,qbr,2024-08-15,held', 'M4,A1,ebr,2024-07-02,cancelled'],
  'contacts.csv': ['S3,A1,Cy,executive_sponsor,2024-07-15,,2024-08-01'],
  'tickets.csv': ['T4,A1,2024-07-02,,urgent,true'],
  'enrichment.csv': ['A1,2024-08-01,300,series_b,20000000'],
  'opportunities.csv': ['O2,A1,expansion,sales,5000,USD,open,2024-07-05,2024-09-01'],
};

function folder(withFuture: boolean): string {
  const files: Record<string, string> = {};
  for (const [f, rows] of Object.entries(BASE)) files[f] = csv(...rows, ...(withFuture ? (FUTURE[f] ?? []) : []));
  return fixtureDir(files);
}

const dirs: string[] = [];
const workspaces: Workspace[] = [];
async function openFolder(withFuture: boolean): Promise<Workspace> {
  const dir = folder(withFuture);
  dirs.push(dir);
  const ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06' } });
  workspaces.push(ws);
  return ws;
}
afterAll(() => {
  workspaces.forEach((w) => w.close());
  dirs.forEach(removeDir);
});

describe('the account record, measure by measure', () => {
  let recs: Map<string, AccountRecord>;
  beforeAll(async () => {
    const ws = await openFolder(false);
    recs = new Map((await accountRecords(ws, [D])).map((r) => [r.account_id, r]));
  });

  it('billing: MRR from the lines in force, its 90-day change, products, renewal', () => {
    const a1 = recs.get('A1')!;
    expect(a1.mrr.value).toBe('1200');
    expect(a1.arr.value).toBe('14400');
    expect(a1.mrr_change_90d).toBeCloseTo(0.2, 12); // 1,200 against 1,000 on 2024-04-01
    expect(a1.products).toEqual(['addon', 'platform']);
    expect(a1.renewal_date).toBe('2025-01-01');
    expect(a1.days_to_renewal).toBe(185);
    expect(a1.monthly_terms).toBe(false);
    expect(a1.customer_since).toBe('2024-01-01');
    expect(a1.attributes).toEqual({ name: 'One', segment: 'enterprise' });
    const a2 = recs.get('A2')!;
    expect(a2.mrr.toFixed(2)).toBe('110.00');
    expect(a2.monthly_terms).toBe(true);
    expect(a2.renewal_date).toBeNull();
    const a3 = recs.get('A3')!;
    expect(a3.active).toBe(false);
    expect(a3.mrr.isZero()).toBe(true);
  });

  it('usage: trends against the 90 days before, feature breadth', () => {
    const a1 = recs.get('A1')!;
    expect(a1.users_90d).toBe(7); // 91 users over the 13 weeks from 2024-04-01
    expect(a1.usage_trend_90d).toBeCloseTo(-0.3, 12); // 7 against 10
    expect(a1.users_30d).toBe(6);
    expect(a1.usage_trend_30d).toBeCloseTo(-0.25, 12); // 6 against 8
    expect(a1.feature_breadth).toBeCloseTo(2 / 3, 12); // key features and adjacent features, no API
    expect(a1.adjacent_users_30d).toBe(2);
    expect(recs.get('A2')!.usage_trend_90d).toBeNull();
  });

  it('seats: utilisation of the latest month and the run above 80 %', () => {
    const a1 = recs.get('A1')!;
    expect([a1.seats_purchased, a1.seats_active]).toEqual([20, 18]);
    expect(a1.seat_utilisation).toBeCloseTo(0.9, 12);
    expect(a1.months_above_80).toBe(2); // June 90 %, May 85 %, April 75 %
  });

  it('onboarding: activation and time to first value', () => {
    expect(recs.get('A1')!.activation_achieved).toBe(1);
    expect(recs.get('A1')!.days_to_first_value).toBe(45); // 2024-01-01 → 2024-02-15
    expect(recs.get('A2')!.activation_achieved).toBe(0); // due 2024-05-01, reached only in August
    expect(recs.get('A2')!.activation_due).toBe('2024-05-01');
  });

  it('business reviews: completion over 12 months, misses over 180 days', () => {
    const a1 = recs.get('A1')!;
    expect([a1.reviews_held_12m, a1.reviews_due_12m, a1.reviews_missed_180d]).toEqual([1, 2, 1]);
    expect(a1.qbr_completion_12m).toBe(0.5);
  });

  it('sponsor: left 29 days ago and not replaced; or present and engaged 20 days ago', () => {
    const a1 = recs.get('A1')!;
    expect(a1.sponsor_present).toBe(false);
    expect(a1.days_since_sponsor_left).toBe(29);
    expect(a1.days_since_sponsor_engaged).toBe(29);
    expect(a1.sponsor_changes_12m).toBe(1);
    const a2 = recs.get('A2')!;
    expect(a2.sponsor_present).toBe(true);
    expect(a2.days_since_sponsor_engaged).toBe(20);
  });

  it('support: tickets, their trend, escalations and what is still open', () => {
    const a1 = recs.get('A1')!;
    expect([a1.tickets_90d, a1.escalations_90d, a1.open_tickets]).toEqual([2, 1, 1]);
    expect(a1.ticket_trend_90d).toBe(1); // 2 against 1
    expect(a1.days_since_escalation).toBe(20);
  });

  it('firmographics and pipeline: headcount change, last funding, open expansion opportunities', () => {
    const a1 = recs.get('A1')!;
    expect(a1.headcount).toBe(130);
    expect(a1.headcount_change_12m).toBeCloseTo(0.3, 12); // 130 against 100 a year before
    expect(a1.last_funding_round).toBe('series_a');
    expect(a1.last_funding_amount?.value).toBe('5000000');
    expect(a1.days_since_funding).toBe(121);
    expect(a1.open_expansion_pipeline.value).toBe('2400');
    expect(a1.open_expansion_opportunities).toBe(1);
  });

  it('puts the health measures side by side with the record', () => {
    const a1 = recs.get('A1')!;
    expect(a1.measures.usage_trend_90d).toBe(a1.usage_trend_90d);
    expect(a1.measures.escalations_90d).toBe(1);
    expect(a1.measures.days_to_renewal).toBe(185);
  });
});

describe('open expansion pipeline in the reporting currency', () => {
  it('takes an opportunity without a currency, or in the reporting currency, as it is, and converts the rest at the rate of the day', async () => {
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,start_date,amount,currency', 'A1,2024-01-01,100,EUR'),
      'accounts.csv': csv('account_id,segment', 'A1,smb'),
      // Reporting in EUR: a USD is worth 0.9 EUR; a GBP 1.2 EUR, then 1.25 from June.
      'fx_rates.csv': csv('currency,month,rate', 'USD,2024-01,0.9', 'GBP,2024-01,1.2', 'GBP,2024-06,1.25'),
      'opportunities.csv': csv(
        'opportunity_id,account_id,type,sourced_by,amount,currency,stage,created_date,close_date',
        'O1,A1,expansion,cs,1000,,open,2024-03-01,', // reporting currency: 1000
        'O2,A1,expansion,cs,500,eur,open,2024-03-01,', // 500
        'O3,A1,expansion,cs,1000,USD,open,2024-03-01,', // 1000 × 0.9 = 900
        'O4,A1,expansion,cs,100,GBP,open,2024-02-01,', // at June's rate on the day: 125
        'O5,A1,renewal,cs,7000,USD,open,2024-03-01,', // not expansion
      ),
    });
    const ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06', reporting_currency: 'EUR' } });
    try {
      const [a1] = await accountRecords(ws, [D]);
      expect(a1!.open_expansion_pipeline.value).toBe('2525');
      expect(a1!.open_expansion_opportunities).toBe(4);
      const [may] = await accountRecords(ws, ['2024-05-31']);
      expect(may!.open_expansion_pipeline.value).toBe('2520'); // GBP at 1.2 then
    } finally {
      ws.close();
      removeDir(dir);
    }
  });
});

describe('as-of evaluation', () => {
  it('ignores every row dated after the day: the record is the same with or without them', async () => {
    const without = await accountRecords(await openFolder(false), [D]);
    const withFuture = await accountRecords(await openFolder(true), [D]);
    expect(withFuture).toEqual(without);
  });

  it('sees the later rows from a later day', async () => {
    const [a1] = await accountRecords(await openFolder(true), ['2024-08-31'], { accountId: 'A1' });
    expect(a1!.mrr.value).toBe('1700'); // 1,000 + 200 + 500
    expect(a1!.headcount).toBe(300);
    expect(a1!.sponsor_present).toBe(true);
  });

  it('treats a point-in-time last_engaged after the day as unknown, not as engagement before it', async () => {
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,start_date,amount', 'A1,2024-01-01,100'),
      'contacts.csv': csv('contact_id,account_id,role,start_date,last_engaged', 'S1,A1,executive_sponsor,2024-01-01,2024-09-01'),
    });
    dirs.push(dir);
    const ws = await Workspace.open({ data: dir, signals: true });
    workspaces.push(ws);
    const [r] = await accountRecords(ws, [D]);
    expect(r!.sponsor_present).toBe(true);
    expect(r!.days_since_sponsor_engaged).toBeNull();
  });

  it('needs the signal tables (computed from the files without them)', async () => {
    const dir = folder(false);
    dirs.push(dir);
    const ws = await Workspace.open({ data: dir, store: false });
    workspaces.push(ws);
    await expect(accountRecords(ws, [D])).rejects.toThrow(NrrError);
  });
});

describe('scores on the record', () => {
  it('scores health with the measures that moved it, risk and readiness with reasons, and a tier', async () => {
    const ws = await openFolder(false);
    const scored = await scoreAccounts(ws, { asOf: D });
    expect(scored.map((s) => s.record.account_id)).toEqual(['A1', 'A2']); // A3 has no revenue on the day
    const a1 = scored[0]!;
    // ARR 14,400 is below every ARR threshold, but readiness is 86 (≥ 50): Tier 2.
    expect(a1.tier).toBe('Tier 2');
    expect(a1.expansion.score).toBeCloseTo(86, 10); // 34 + 20 + 18 + 9 + 5
    expect(a1.risk.reasons.map((r) => r.text)).toEqual([
      'executive sponsor left 29 days ago, no successor',
      'usage −30 % against the prior 90 days',
      '1 escalated ticket in 90 days',
      '1 business review skipped or cancelled in 180 days',
      'usage −25 % in the last 30 days against the 90 before',
    ]); // 20, 18, 10, 8 and 7.5 points, before halving
    // Renewal is 185 days away, so the points are halved: (20 + 18 + 7.5 + 10 + 8) ÷ 2.
    expect(a1.risk.score).toBeCloseTo(31.75, 10);
    expect(a1.expansion.reasons.map((r) => r.text)).toEqual([
      'seat utilisation 90 % for 2 months',
      'raised series_a 121 days ago',
      'headcount +30 % in 12 months',
      '2 users a week try features of a product not yet bought',
      '1 open expansion opportunity',
    ]);
    // Health a month earlier (2024-05-31) is compared: the sponsor left and the escalation came since.
    expect(a1.change).not.toBeNull();
    expect(a1.change!.movers.map((m) => m.measure)).toContain('escalations_90d');
    expect(a1.change!.delta!).toBeLessThan(0);
  });
});

describe('nrr health validate', () => {
  it('on a hand-made history: churn counted 90 days after the snapshot, and ranked by risk', async () => {
    // Snapshot 2024-03-31. B1's usage halves before its renewal on 2024-05-01 and it does not
    // renew; B2 renews; B3 is monthly and stays. Outcomes: 1 churn in 3.
    const dir = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,start_date,end_date,amount,interval',
        'B1,2023-05-01,2024-05-01,1200,year',
        'B2,2023-05-01,2024-05-01,1200,year',
        'B2,2024-05-01,2025-05-01,1200,year',
        'B3,2023-05-01,,100,month',
        'B3,2024-07-01,,1,month', // keeps data running to the reporting month
      ),
      'product_usage.csv': csv(
        'account_id,week,active_users',
        'B1,2023-11-06,10',
        'B1,2024-02-05,5',
        'B2,2023-11-06,10',
        'B2,2024-02-05,10',
        'B3,2023-11-06,10',
        'B3,2024-02-05,10',
      ),
    });
    dirs.push(dir);
    const ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06' } });
    workspaces.push(ws);
    const v = await healthValidity(ws, { months: 1 });
    expect(v.snapshots).toEqual(['2024-03-31']);
    expect(v.overall).toMatchObject({ n: 3, churn_rate: 1 / 3, contraction_rate: 0 });
    const risk = v.scores.find((s) => s.score === 'risk' && s.outcome === 'churn')!;
    expect(risk).toMatchObject({ auc: 1, positives: 1, negatives: 2, judged: false, verdict: 'too few churn cases (1) to judge' });
    expect(v.calibration.reduce((n, c) => n + c.n, 0)).toBe(3);
  });

  it('on the demo company: red churns at least 3× as often as green; the risk score has AUC ≥ 0.75', async () => {
    const dir = fixtureDir({}, 'nrr-demo-');
    dirs.push(dir);
    await generateCompany({ out: dir, end: '2026-10' });
    const ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2026-10' } });
    workspaces.push(ws);
    const v = await healthValidity(ws);
    expect(v.snapshots).toHaveLength(12);
    expect(v.by_colour.reduce((n, c) => n + c.n, 0)).toBe(v.overall.n);
    expect(v.by_tier.reduce((n, c) => n + c.n, 0)).toBe(v.overall.n);
    expect(v.overall.n).toBeGreaterThan(15_000);
    expect(v.red_to_green_churn!).toBeGreaterThanOrEqual(3);
    expect(v.colours.verdict).toMatch(/^red accounts churned [\d.]+× as often as green ones \(red \d+ of \d+, green \d+ of \d+\)$/);
    expect(v.not_scored).toEqual({ health: 0, risk: 0 }); // every demo account has signal data
    const risk = v.scores.find((s) => s.score === 'risk' && s.outcome === 'churn')!;
    expect(risk.positives).toBe(v.overall.churned);
    expect(risk.auc!).toBeGreaterThanOrEqual(0.75);
    expect(risk.auc!).toBeLessThan(0.95); // the planted signals are noisy
    expect(risk.auc_low!).toBeGreaterThan(0.5);
    expect(risk.verdict).toBe('ranks churn better than chance');
    const loss = v.scores.find((s) => s.score === 'risk' && s.outcome === 'churn_or_contraction')!;
    expect(loss.positives).toBe(v.overall.lost);
    expect(loss.lift_top_decile!).toBeGreaterThan(2);
    // Calibration: the churn rate rises with the risk bucket.
    const rates = v.calibration.filter((c) => c.n >= 100).map((c) => c.churn_rate!);
    expect(rates).toEqual([...rates].sort((a, b) => a - b));
  }, 120_000);
});
