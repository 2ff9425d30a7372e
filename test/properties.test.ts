import Big from 'big.js';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Workspace, metrics, movements, mrrLedger, type Metrics, type MovementRow, type NrrMethod, type PolicyInput } from '../src/index.js';
import { parseGrouping } from '../src/engine/grouping.js';
import { sqlSnapshotMetrics } from '../src/engine/metrics-model.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * Property tests over random data: random accounts and contract lines (dates across 2023–2025,
 * every interval, discounts up to the amount, open-ended lines, zero amounts, two products, EUR
 * with monthly rates, usage) under random policies. Money is compared exactly, as decimals.
 */

// An independent big.js constructor, so these settings do not leak into the engine's Money.
const B = Big();
B.DP = 40;
B.RM = B.roundHalfUp;
type Dec = InstanceType<typeof B>;
const ZERO = new B(0);
const eq = (a: Dec | string, b: Dec | string): boolean => new B(a).eq(b);

/** NRR_PROPERTY_RUNS=500 npx vitest run test/properties.test.ts for a longer hunt. */
const NUM_RUNS = Number(process.env['NRR_PROPERTY_RUNS'] ?? 25);
// Generous: a busy 2-core machine can take several times as long as an idle one; these check correctness, not speed.
const TIMEOUT = Math.max(300_000, NUM_RUNS * 6_000);
const OPEN = Number.MAX_SAFE_INTEGER;

// ——— months and days ———

const monthText = (i: number): string => `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
const monthOfText = (t: string): number => Number(t.slice(0, 4)) * 12 + Number(t.slice(5, 7)) - 1;
const DAY0 = Date.UTC(2023, 0, 1);
const dayText = (offset: number): string => new Date(DAY0 + offset * 86_400_000).toISOString().slice(0, 10);
const monthOfDay = (offset: number): number => {
  const d = new Date(DAY0 + offset * 86_400_000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};
const M2023_01 = 2023 * 12;
const PRODUCTS = ['p1', 'p2'] as const;

// ——— the random scenario ———

interface Line {
  account: string;
  product: string;
  /** Days since 2023-01-01. */
  start: number;
  end: number | null;
  amount: string;
  discount: string | null;
  interval: string;
  currency: '' | 'USD' | 'EUR';
}

interface Usage {
  account: string;
  product: string;
  month: number;
  amount: string;
  currency: '' | 'EUR';
}

interface Scenario {
  accounts: string[];
  lines: Line[];
  usage: Usage[];
  /** EUR rates by month index (always one for 2023-01 when EUR is used). */
  rates: Map<number, string>;
  policies: {
    snapshot: 'end' | 'start';
    fx: 'contract_start' | 'monthly';
    usage: 'include' | 'exclude';
    reactivation_window_months: number | null;
  };
  asOf: number;
  /** Metrics queries to check: window's last month and length. */
  queries: { month: number; window: number }[];
}

const INTERVALS: Record<string, number> = { '': 1, month: 1, monthly: 1, quarter: 3, year: 12, annual: 12, '24 months': 24, '7 months': 7 };

const dayArb = fc.oneof(
  fc.integer({ min: 0, max: 3 * 365 }), // any day of 2023–2025
  fc.integer({ min: 0, max: 35 }).map((m) => Math.round((Date.UTC(2023, m, 1) - DAY0) / 86_400_000)), // a 1st of the month
);
const centsArb = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant('0'),
    fc.integer({ min: 1, max: max / 100 }).map(String),
    fc.integer({ min: 1, max }).map((c) => new B(c).div(100).toFixed(2)),
  );

function scenarioArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      nAccounts: fc.integer({ min: 1, max: 5 }),
      useEur: fc.boolean(),
      lines: fc.array(
        fc.record({
          account: fc.nat(4),
          product: fc.constantFrom('p1', 'p2'),
          start: dayArb,
          length: fc.option(fc.oneof(fc.integer({ min: 0, max: 900 }), fc.constantFrom(0, 1, 30, 31, 365)), { freq: 3 }),
          endOnFirst: fc.option(fc.integer({ min: 0, max: 47 })),
          amount: centsArb(500_000),
          discountQuarters: fc.option(fc.integer({ min: 0, max: 4 })),
          interval: fc.constantFrom(...Object.keys(INTERVALS)),
          currency: fc.constantFrom<('' | 'USD' | 'EUR')[]>('', 'USD', 'EUR'),
        }),
        { minLength: 1, maxLength: 10 },
      ),
      usage: fc.array(
        fc.record({
          account: fc.nat(4),
          product: fc.constantFrom('p1', 'p2'),
          month: fc.integer({ min: M2023_01, max: M2023_01 + 35 }),
          amount: centsArb(100_000),
          eur: fc.boolean(),
        }),
        { maxLength: 5 },
      ),
      rates: fc.array(fc.tuple(fc.integer({ min: M2023_01 + 1, max: M2023_01 + 35 }), fc.integer({ min: 5000, max: 20000 })), { maxLength: 8 }),
      firstRate: fc.integer({ min: 5000, max: 20000 }),
      snapshot: fc.constantFrom<('end' | 'start')[]>('end', 'start'),
      fx: fc.constantFrom<('contract_start' | 'monthly')[]>('contract_start', 'monthly'),
      usagePolicy: fc.constantFrom<('include' | 'exclude')[]>('include', 'exclude'),
      window: fc.constantFrom(null, null, 1, 2, 3, 6),
      asOf: fc.integer({ min: M2023_01 + 5, max: M2023_01 + 41 }),
      queries: fc.array(fc.record({ back: fc.nat(30), window: fc.integer({ min: 1, max: 14 }) }), { minLength: 1, maxLength: 3 }),
    })
    .map((r) => {
      const accounts = Array.from({ length: r.nAccounts }, (_, i) => `acc${i}`);
      const lines: Line[] = r.lines.map((l) => {
        let end: number | null = l.length === null ? null : l.start + l.length;
        if (end !== null && l.endOnFirst !== null) {
          // Sometimes end on a 1st, when that is not before the start.
          const first = Math.round((Date.UTC(2023, l.endOnFirst, 1) - DAY0) / 86_400_000);
          if (first >= l.start) end = first;
        }
        const discount =
          l.discountQuarters === null ? null : new B(l.amount).times(l.discountQuarters).div(4).round(2, B.roundDown).toFixed(2);
        return {
          account: accounts[l.account % r.nAccounts]!,
          product: l.product,
          start: l.start,
          end,
          amount: l.amount,
          discount,
          interval: l.interval,
          currency: r.useEur ? l.currency : l.currency === 'EUR' ? 'USD' : l.currency,
        };
      });
      const usage: Usage[] = r.usage.map((u) => ({
        account: accounts[u.account % r.nAccounts]!,
        product: u.product,
        month: u.month,
        amount: u.amount,
        currency: r.useEur && u.eur ? 'EUR' : '',
      }));
      const rates = new Map<number, string>();
      if (r.useEur) {
        rates.set(M2023_01, (r.firstRate / 10000).toFixed(4));
        for (const [m, v] of r.rates) rates.set(m, (v / 10000).toFixed(4));
      }
      return {
        accounts,
        lines,
        usage,
        rates,
        policies: { snapshot: r.snapshot, fx: r.fx, usage: r.usagePolicy, reactivation_window_months: r.window },
        asOf: r.asOf,
        queries: r.queries.map((q) => ({ month: Math.max(M2023_01 + 1, r.asOf - q.back), window: q.window })),
      };
    });
}

function writeScenario(s: Scenario): string {
  const files: Record<string, (string | number | null)[][]> = {
    'subscriptions.csv': [
      ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval', 'discount', 'currency'],
      ...s.lines.map((l, i) => [l.account, `L${i + 1}`, l.product, dayText(l.start), l.end === null ? null : dayText(l.end), l.amount, l.interval, l.discount, l.currency]),
    ],
    'accounts.csv': [['account_id', 'segment'], ...s.accounts.map((a, i) => [a, i % 2 === 0 ? 'even' : 'odd'])],
  };
  if (s.usage.length > 0) {
    files['usage.csv'] = [['account_id', 'product', 'month', 'amount', 'currency'], ...s.usage.map((u) => [u.account, u.product, monthText(u.month), u.amount, u.currency])];
  }
  if (s.rates.size > 0) {
    files['fx_rates.csv'] = [['currency', 'month', 'rate'], ...[...s.rates].map(([m, r]) => ['EUR', monthText(m), r])];
  }
  return fixtureDir(files, 'nrr-prop-');
}

async function withScenario(s: Scenario, f: (ws: Workspace) => Promise<void>): Promise<void> {
  const dir = writeScenario(s);
  try {
    // The policies go in the config, so that the workspace store is built under them and answers.
    writeFileSync(join(dir, 'nrr.config.yaml'), stringify({ policies: s.policies }));
    const policies: PolicyInput = { as_of: monthText(s.asOf) };
    const ws = await Workspace.open({ data: dir, policies, today: new Date('2030-01-01T00:00:00Z') });
    expect(ws.summary.store).not.toBeNull();
    try {
      await f(ws);
    } finally {
      ws.close();
    }
  } finally {
    removeDir(dir);
  }
}

// ——— an independent model of the ledger, straight from docs/definitions.md ———

const round12 = (x: Dec): Dec => x.round(12, B.roundHalfUp);

interface Contribution {
  source: 'line' | 'usage';
  account: string;
  product: string;
  ckey: string;
  from: number;
  to: number;
  value: Dec;
}

interface ReferenceModel {
  /** account → month → MRR (only months with MRR above zero). */
  mrr: Map<string, Map<number, Dec>>;
  /** account|product → month → MRR. */
  productMrr: Map<string, Map<number, Dec>>;
  /** account changes up to as_of: the movement, its usage part, the FX effect, the category and the cause. */
  changes: { account: string; month: number; before: Dec; after: Dec; movement: Dec; usage: Dec; fx: Dec; category: string; cause: string }[];
  /** Usage charges set aside (outside every line of their account), by index in s.usage. */
  setAside: number[];
}

function reference(s: Scenario): ReferenceModel {
  const rateAt = (ckey: string, month: number): Dec => {
    if (ckey === 'USD') return new B(1);
    let best: number | undefined;
    for (const m of s.rates.keys()) if (m <= month && (best === undefined || m > best)) best = m;
    if (best === undefined) throw new Error(`no EUR rate in ${monthText(month)}`);
    return new B(s.rates.get(best)!);
  };
  const cur = (c: string): string => (c === '' ? 'USD' : c);
  const contributions: Contribution[] = [];
  for (const l of s.lines) {
    const months = INTERVALS[l.interval]!;
    // (amount − discount) ÷ months, cut (not rounded) at 12 decimals.
    const local = new B(l.amount).minus(l.discount ?? 0).div(months).round(12, B.roundDown);
    const [from, to] =
      s.policies.snapshot === 'end'
        ? [monthOfDay(l.start), l.end === null ? OPEN : monthOfDay(l.end)]
        : [monthOfDay(l.start - 1) + 1, l.end === null ? OPEN : monthOfDay(l.end - 1) + 1];
    if (from >= to) continue;
    const c = cur(l.currency);
    if (s.policies.fx === 'contract_start') {
      contributions.push({ source: 'line', account: l.account, product: l.product, ckey: 'USD', from, to, value: round12(local.times(rateAt(c, monthOfDay(l.start)))) });
    } else {
      contributions.push({ source: 'line', account: l.account, product: l.product, ckey: c, from, to, value: local });
    }
  }
  // Usage is MRR only in a month in which its account has a line in force (any amount), unless
  // the account has no line at all.
  const lineMonths = contributions.filter((c) => c.source === 'line');
  const setAside: number[] = [];
  if (s.policies.usage === 'include') {
    s.usage.forEach((u, i) => {
      const hasLine = s.lines.some((l) => l.account === u.account);
      if (hasLine && !lineMonths.some((c) => c.account === u.account && c.from <= u.month && u.month < c.to)) {
        setAside.push(i);
        return;
      }
      const c = cur(u.currency);
      const value = s.policies.fx === 'contract_start' ? round12(new B(u.amount).times(rateAt(c, u.month))) : new B(u.amount);
      contributions.push({ source: 'usage', account: u.account, product: u.product, ckey: s.policies.fx === 'contract_start' ? 'USD' : c, from: u.month, to: u.month + 1, value });
    });
  }
  const level = (account: string, ckey: string, month: number, product?: string, source?: 'line' | 'usage'): Dec =>
    contributions
      .filter(
        (c) =>
          c.account === account &&
          c.ckey === ckey &&
          (product === undefined || c.product === product) &&
          (source === undefined || c.source === source) &&
          c.from <= month &&
          month < c.to,
      )
      .reduce((sum, c) => sum.plus(c.value), ZERO);
  const ckeys = ['USD', 'EUR'];
  const first = M2023_01 - 1;
  const model: ReferenceModel = { mrr: new Map(), productMrr: new Map(), changes: [], setAside };
  for (const account of s.accounts) {
    const byMonth = new Map<number, Dec>();
    let lastChange: number | null = null;
    for (let m = first; m <= s.asOf; m++) {
      let total = ZERO;
      let fx = ZERO;
      let prevTotal = ZERO;
      // The movement's usage part: a usage change valued at the new rate when the level rises, the old one when it falls.
      let usage = ZERO;
      let usageChanged = false;
      let linesChanged = false;
      // Converted per product and currency (the ledger's finest grain), then summed.
      for (const product of PRODUCTS) {
        for (const c of ckeys) {
          const lNew = level(account, c, m, product);
          const lPrev = level(account, c, m - 1, product);
          if (lNew.gt(0)) total = total.plus(round12(lNew.times(rateAt(c, m))));
          if (lPrev.gt(0)) prevTotal = prevTotal.plus(round12(lPrev.times(rateAt(c, m - 1))));
          // FX effect: what is held in both months, revalued.
          if (lNew.gt(0) && lPrev.gt(0)) {
            fx = fx.plus(round12((lNew.lt(lPrev) ? lNew : lPrev).times(rateAt(c, m).minus(rateAt(c, m - 1)))));
          }
          const u = level(account, c, m, product, 'usage').minus(level(account, c, m - 1, product, 'usage'));
          if (!u.eq(0)) {
            usageChanged = true;
            usage = usage.plus(round12(u.times(lNew.gte(lPrev) ? rateAt(c, m) : rateAt(c, m - 1))));
          }
          if (!level(account, c, m, product, 'line').eq(level(account, c, m - 1, product, 'line'))) linesChanged = true;
        }
      }
      if (total.gt(0)) byMonth.set(m, total);
      const change = total.minus(prevTotal);
      if (!change.eq(0) || !fx.eq(0)) {
        const movement = change.minus(fx);
        const gap = lastChange === null ? null : m - lastChange;
        const w = s.policies.reactivation_window_months;
        const category = movement.eq(0)
          ? 'fx'
          : prevTotal.eq(0)
            ? gap === null || (w !== null && gap > w)
              ? 'new'
              : 'reactivation'
            : total.eq(0)
              ? 'churn'
              : movement.gt(0)
                ? 'expansion'
                : 'contraction';
        const usagePart = movement.eq(0) || !usageChanged ? ZERO : !linesChanged ? movement : usage;
        const parts = [!fx.eq(0), !usagePart.eq(0), !movement.minus(usagePart).eq(0)].filter(Boolean).length;
        const cause = movement.eq(0) ? 'fx' : parts > 1 ? 'mixed' : !usagePart.eq(0) ? 'usage' : 'contract';
        model.changes.push({ account, month: m, before: prevTotal, after: total, movement, usage: usagePart, fx, category, cause });
        lastChange = m;
      }
    }
    if (byMonth.size > 0) model.mrr.set(account, byMonth);
    for (const product of PRODUCTS) {
      const pm = new Map<number, Dec>();
      for (let m = first; m <= s.asOf; m++) {
        let v = ZERO;
        let lv = ZERO;
        for (const c of ckeys) {
          const l = level(account, c, m, product);
          lv = lv.plus(l);
          if (!l.eq(0)) v = v.plus(round12(l.times(rateAt(c, m))));
        }
        if (lv.gt(0)) pm.set(m, v);
      }
      if (pm.size > 0) model.productMrr.set(`${account}|${product}`, pm);
    }
  }
  return model;
}

// ——— helpers over the engine's output ———

interface FxRow {
  account_id: string;
  month: string;
  fx: string;
}

/** The FX-only account-months, which movements() leaves out (category 'fx'). */
async function fxOnlyRows(ws: Workspace): Promise<FxRow[]> {
  const rows = await ws.query(
    `SELECT account_id, month_index, CAST(fx AS VARCHAR) AS fx FROM account_changes WHERE category = 'fx' AND month_index <= ${ws.asOfMonth} ORDER BY account_id, month_index`,
  );
  return rows.map((r) => ({ account_id: String(r['account_id']), month: monthText(Number(r['month_index'])), fx: String(r['fx']) }));
}

function ledgerMap(rows: readonly { account_id: string; month: string; product?: string; mrr: { value: string } }[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of rows) {
    const k = `${r.account_id}|${r.product ?? ''}|${r.month}`;
    if (m.has(k)) throw new Error(`two ledger rows for ${k}`);
    m.set(k, r.mrr.value);
  }
  return m;
}

const sign = (x: Dec): number => (x.gt(0) ? 1 : x.lt(0) ? -1 : 0);

const fcOptions = { numRuns: NUM_RUNS };

// ——— the properties ———

describe('properties over random data and policies', () => {
  it('the ledger and the movements match an independent model of the definitions, to the last digit', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (s) => {
        const model = reference(s);
        await withScenario(s, async (ws) => {
          // MRR per account × month
          const got = ledgerMap(await mrrLedger(ws));
          const want = new Map<string, string>();
          for (const [a, months] of model.mrr) for (const [m, v] of months) want.set(`${a}||${monthText(m)}`, v.toFixed());
          expect(normalise(got)).toEqual(normalise(want));
          // MRR per account × product × month
          const gotP = ledgerMap(await mrrLedger(ws, { byProduct: true }));
          const wantP = new Map<string, string>();
          for (const [ap, months] of model.productMrr) for (const [m, v] of months) wantP.set(`${ap}|${monthText(m)}`, v.toFixed());
          expect(normalise(gotP)).toEqual(normalise(wantP));
          // Every account-month with a change: movement, FX effect, category
          const got2 = [
            ...(await movements(ws)).map((r) =>
              [r.account_id, r.month, r.category, r.cause, r.mrr_before.value, r.mrr_after.value, r.delta.value, r.usage_delta.value, r.fx.value].join(' '),
            ),
          ];
          for (const r of await fxOnlyRows(ws)) got2.push([r.account_id, r.month, 'fx', r.fx].join(' '));
          const want2 = model.changes.map((c) =>
            c.category === 'fx'
              ? [c.account, monthText(c.month), 'fx', c.fx.toFixed()].join(' ')
              : [c.account, monthText(c.month), c.category, c.cause, c.before.toFixed(), c.after.toFixed(), c.movement.toFixed(), c.usage.toFixed(), c.fx.toFixed()].join(' '),
          );
          expect(got2.map(canon).sort()).toEqual(want2.map(canon).sort());
          // The usage set aside: the same charges, and the warning says how many.
          const usageRows = s.usage.map((_, i) => i + 1);
          const setAside = (await ws.query('SELECT row_no FROM usage_set_aside ORDER BY row_no')).map((r) => Number(r['row_no']));
          expect(setAside).toEqual(model.setAside.map((i) => usageRows[i]!));
          expect(ws.summary.usageSetAside.charges).toBe(model.setAside.length);
        });
      }),
      fcOptions,
    );
  }, TIMEOUT);

  it('movements + FX add up to the ledger: per account-month and per month overall', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (s) => {
        await withScenario(s, async (ws) => {
          const ledger = await mrrLedger(ws);
          const moves = await movements(ws);
          const fxRows = await fxOnlyRows(ws);
          const at = new Map(ledger.map((r) => [`${r.account_id}|${r.month}`, new B(r.mrr.value)]));
          const mrrAt = (a: string, m: number): Dec => at.get(`${a}|${monthText(m)}`) ?? ZERO;

          // One row per (account, month) in the ledger and in the movements.
          expect(new Set(ledger.map((r) => `${r.account_id}|${r.month}`)).size).toBe(ledger.length);
          const byProduct = await mrrLedger(ws, { byProduct: true });
          expect(new Set(byProduct.map((r) => `${r.account_id}|${r.product}|${r.month}`)).size).toBe(byProduct.length);
          expect(new Set(moves.map((r) => `${r.account_id}|${r.month}`)).size).toBe(moves.length);
          const moveKeys = new Set(moves.map((r) => `${r.account_id}|${r.month}`));
          for (const r of fxRows) expect(moveKeys.has(`${r.account_id}|${r.month}`)).toBe(false);

          // Every month's MRR is the running sum of its account's movements and FX effects.
          const steps = new Map<string, Dec>(); // account|month → delta + fx
          for (const r of moves) steps.set(`${r.account_id}|${r.month}`, new B(r.delta.value).plus(r.fx.value));
          for (const r of fxRows) steps.set(`${r.account_id}|${r.month}`, new B(r.fx));
          const accounts = new Set([...ledger.map((r) => r.account_id), ...moves.map((r) => r.account_id)]);
          for (const a of accounts) {
            let running = ZERO;
            for (let m = M2023_01 - 1; m <= ws.asOfMonth; m++) {
              running = running.plus(steps.get(`${a}|${monthText(m)}`) ?? ZERO);
              expect(running.toFixed(), `${a} ${monthText(m)}`).toBe(mrrAt(a, m).toFixed());
            }
          }

          // Each row: mrr_after = mrr_before + delta + fx, and both agree with the ledger.
          for (const r of moves) {
            const m = monthOfText(r.month);
            expect(new B(r.mrr_before.value).plus(r.delta.value).plus(r.fx.value).toFixed(), `${r.account_id} ${r.month}`).toBe(new B(r.mrr_after.value).toFixed());
            expect(eq(r.mrr_before.value, mrrAt(r.account_id, m - 1)), `${r.account_id} ${r.month} before`).toBe(true);
            expect(eq(r.mrr_after.value, mrrAt(r.account_id, m)), `${r.account_id} ${r.month} after`).toBe(true);
          }

          // Per month overall: start + new + expansion + reactivation − contraction − churn + fx = end.
          const total = (m: number): Dec => ledger.filter((r) => r.month === monthText(m)).reduce((x, r) => x.plus(r.mrr.value), ZERO);
          for (let m = M2023_01 - 1; m <= ws.asOfMonth; m++) {
            const month = monthText(m);
            const sumOf = (rows: readonly MovementRow[], cat: string): Dec => rows.filter((r) => r.category === cat).reduce((x, r) => x.plus(new B(r.delta.value).abs()), ZERO);
            const here = moves.filter((r) => r.month === month);
            const fx = here.reduce((x, r) => x.plus(r.fx.value), ZERO).plus(fxRows.filter((r) => r.month === month).reduce((x, r) => x.plus(r.fx), ZERO));
            const end = total(m - 1)
              .plus(sumOf(here, 'new'))
              .plus(sumOf(here, 'expansion'))
              .plus(sumOf(here, 'reactivation'))
              .minus(sumOf(here, 'contraction'))
              .minus(sumOf(here, 'churn'))
              .plus(fx);
            expect(end.toFixed(), month).toBe(total(m).toFixed());
          }
        });
      }),
      fcOptions,
    );
  }, TIMEOUT);

  it('movement rows are never zero, their category fits mrr_before → mrr_after and their cause their parts', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (s) => {
        await withScenario(s, async (ws) => {
          const seen = new Set<string>();
          for (const r of await movements(ws)) {
            const where = `${r.account_id} ${r.month} ${r.category}`;
            const before = new B(r.mrr_before.value);
            const after = new B(r.mrr_after.value);
            const delta = new B(r.delta.value);
            expect(delta.eq(0), where).toBe(false);
            expect(before.gte(0) && after.gte(0), where).toBe(true);
            switch (r.category) {
              case 'new':
              case 'reactivation':
                expect(before.eq(0) && after.gt(0) && delta.gt(0), where).toBe(true);
                break;
              case 'churn':
                expect(after.eq(0) && before.gt(0) && delta.lt(0), where).toBe(true);
                break;
              case 'expansion':
                expect(before.gt(0) && after.gt(0) && delta.gt(0), where).toBe(true);
                break;
              case 'contraction':
                expect(before.gt(0) && after.gt(0) && delta.lt(0), where).toBe(true);
                break;
              default:
                throw new Error(`unknown category ${where}`);
            }
            // From zero is always new or reactivation, to zero always churn.
            if (before.eq(0)) expect(['new', 'reactivation'], where).toContain(r.category);
            if (after.eq(0)) expect(r.category, where).toBe('churn');
            // An account's first movement is new; reactivation only after it has had revenue.
            if (!seen.has(r.account_id)) expect(r.category, where).toBe('new');
            if (r.category === 'reactivation') expect(seen.has(r.account_id), where).toBe(true);
            // With FX at contract start there is never an FX effect.
            if (s.policies.fx === 'contract_start') expect(r.fx.value, where).toBe('0');
            // The movement's sign is its category's; FX never decides it.
            expect(sign(delta), where).toBe(['new', 'reactivation', 'expansion'].includes(r.category) ? 1 : -1);
            // The cause names the parts that are not zero: usage, the lines' rest, the FX effect.
            const usage = new B(r.usage_delta.value);
            const parts = { usage: !usage.eq(0), contract: !delta.minus(usage).eq(0), fx: !r.fx.isZero() };
            const named = Object.entries(parts).filter(([, v]) => v).map(([k]) => k);
            expect(r.cause, `${where} ${named.join('+')}`).toBe(named.length > 1 ? 'mixed' : named[0]);
            // Without usage, no part of a movement is usage (an FX effect may still make it mixed).
            if (s.policies.usage === 'exclude') expect(parts.usage, where).toBe(false);
            seen.add(r.account_id);
          }
          // Months with no movement (an FX effect only) are the ones, and the only ones, whose cause is 'fx'.
          const fxRows = await ws.query(`SELECT count(*) FILTER (WHERE (cause = 'fx') <> (movement = 0 AND fx <> 0)) AS bad FROM account_changes`);
          expect(Number(fxRows[0]!['bad'])).toBe(0);
        });
      }),
      fcOptions,
    );
  }, TIMEOUT);

  it('metrics: GRR in [0, 1], NRR from the bridge, bridges close, groups add up', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (s) => {
        await withScenario(s, async (ws) => {
          const ledger = await mrrLedger(ws);
          const ledgerTotal = (m: number): Dec => ledger.filter((r) => r.month === monthText(m)).reduce((x, r) => x.plus(r.mrr.value), ZERO);
          const byProduct = await mrrLedger(ws, { byProduct: true });
          const productLedgerTotal = (m: number): Dec => byProduct.filter((r) => r.month === monthText(m)).reduce((x, r) => x.plus(r.mrr.value), ZERO);
          const cohortSize = (m: number): number => new Set(ledger.filter((r) => r.month === monthText(m)).map((r) => r.account_id)).size;
          for (const q of s.queries) {
            const month = monthText(q.month);
            const ctx = `${month} window ${q.window}`;
            const one = async (method: NrrMethod, by?: string): Promise<Metrics[]> => metrics(ws, { month, window: q.window, method, ...(by ? { by } : {}) });
            const [snap] = await one('snapshot');
            const [mov] = await one('movements');
            const [avg] = await one('average');
            for (const m of [snap!, mov!, avg!]) {
              const c = `${ctx} ${m.method}`;
              const start = new B(m.starting_mrr.value);
              if (start.eq(0)) {
                expect([m.nrr, m.starting_accounts], c).toEqual([null, 0]);
                // (The movements method's GRR with an empty cohort: see 'found by the properties' below.)
                if (m.method !== 'movements') expect(m.grr, c).toBeNull();
                continue;
              }
              expect(m.grr, c).not.toBeNull();
              expect(m.grr!, c).toBeGreaterThanOrEqual(0);
              expect(m.grr!, c).toBeLessThanOrEqual(1);
              for (const x of [m.expansion, m.contraction, m.churn]) expect(new B(x.value).gte(0), c).toBe(true);
              expect(m.retained_accounts, c).toBeLessThanOrEqual(m.starting_accounts);
              // The cohort is every account with MRR at M−W.
              expect(m.starting_accounts, c).toBe(cohortSize(q.month - q.window));
              if (m.method === 'average') continue;
              // NRR = (start + expansion − contraction − churn) ÷ start
              const retained = start.plus(m.expansion.value).minus(m.contraction.value).minus(m.churn.value);
              const want = retained.div(start).toNumber();
              // A ratio of doubles: equal to the decimal ratio within a relative 1e-12.
              expect(Math.abs(m.nrr! - want), `${c}: nrr ${m.nrr} vs ${want}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
              // The bridge closes exactly: start + expansion − contraction − churn + fx = ending.
              expect(retained.plus(m.fx.value).toFixed(), c).toBe(new B(m.ending_mrr.value).toFixed());
            }
            // Snapshot: GRR ≤ NRR's retained part; the cohort's start is the ledger's total at M−W.
            if (new B(snap!.starting_mrr.value).gt(0)) {
              expect(snap!.grr!, ctx).toBeLessThanOrEqual(snap!.nrr! + 1e-12);
              expect(snap!.logo_retention, ctx).toBeCloseTo(snap!.retained_accounts / snap!.starting_accounts, 12);
            }
            // The cohort's start is the ledger's total at M−W, by account and by product alike.
            expect(new B(snap!.starting_mrr.value).toFixed(), `${ctx} snapshot start`).toBe(ledgerTotal(q.month - q.window).toFixed());
            expect(productLedgerTotal(q.month - q.window).toFixed(), `${ctx} product ledger`).toBe(ledgerTotal(q.month - q.window).toFixed());
            expect(new B(mov!.starting_mrr.value).toFixed(), `${ctx} movements start`).toBe(ledgerTotal(q.month - q.window).toFixed());
            // With FX at contract start, snapshot ending MRR is the ledger's at M over the cohort, and no FX line.
            if (s.policies.fx === 'contract_start') expect(snap!.fx.value, ctx).toBe('0');
            // With FX at contract start the snapshot reads the account ledger; the product ledger gives the same, to the digit.
            if (s.policies.fx === 'contract_start') {
              await ws.ensureProductRanges();
              for (const by of [undefined, 'segment', 'cohort', 'acv_band']) {
                const g = parseGrouping(by, ws.policies);
                const run = (source: 'auto' | 'product'): Promise<unknown> =>
                  ws.query(sqlSnapshotMetrics(ws.driver.dialect, ws.policies, [q.month], q.window, g, source));
                expect(await run('auto'), `${ctx} by ${by ?? 'all'}: account vs product ledger`).toEqual(await run('product'));
              }
            }
            // The groups of a slice add up to the whole.
            for (const by of ['segment', 'account', 'cohort']) {
              const groups = await one('snapshot', by);
              const sum = (f: (m: Metrics) => string): string => groups.reduce((x, g) => x.plus(f(g)), ZERO).toFixed();
              const c = `${ctx} by ${by}`;
              expect(sum((g) => g.starting_mrr.value), c).toBe(new B(snap!.starting_mrr.value).toFixed());
              expect(sum((g) => g.ending_mrr.value), c).toBe(new B(snap!.ending_mrr.value).toFixed());
              expect(sum((g) => g.expansion.value), c).toBe(new B(snap!.expansion.value).toFixed());
              expect(sum((g) => g.churn.value), c).toBe(new B(snap!.churn.value).toFixed());
              expect(groups.reduce((x, g) => x + g.starting_accounts, 0), c).toBe(snap!.starting_accounts);
            }
          }
        });
      }),
      fcOptions,
    );
  }, TIMEOUT);
});

/** Keys and decimal strings in one canonical form ('100.50' and '100.5' are equal). */
function normalise(m: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, new B(v).toFixed()]));
}

function canon(line: string): string {
  return line
    .split(' ')
    .map((w) => (/^-?\d+(\.\d+)?$/.test(w) && !/^\d{4}-\d{2}$/.test(w) ? new B(w).toFixed() : w))
    .join(' ');
}

describe('found by the properties', () => {
  it("the 'movements' method with an empty cohort has no GRR (not 0 %)", async () => {
    // Nothing has MRR at 2022-12 (the window's start); a usage-only account is new in 2023-01 and
    // churns in 2023-02, inside the window.
    const dir = fixtureDir({
      'subscriptions.csv': [
        ['account_id', 'start_date', 'amount'],
        ['acc0', '2023-01-01', '0'],
      ],
      'usage.csv': [
        ['account_id', 'month', 'amount'],
        ['acc0', '2023-01', '1'],
      ],
    });
    try {
      const ws = await Workspace.open({ data: dir, policies: { as_of: '2023-06' } });
      try {
        const [m] = await metrics(ws, { month: '2023-05', window: 5, method: 'movements' });
        expect(m!.starting_mrr.value).toBe('0');
        expect(m!.nrr).toBeNull(); // 0 ÷ 0
        expect(m!.grr).toBeNull(); // also 0 ÷ 0, as in the snapshot method
        expect(m!.logo_retention).toBeNull();
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('rounding: every view of one month agrees to the last digit', () => {
  // Monthly FX, one account with two EUR products of 1000 ÷ 3 = 333.333333333333 EUR each, at 1.1:
  // per product 366.6666666666663 → 366.666666666666 (twice: 733.333333333332),
  // per account 666.666666666666 × 1.1 = 733.3333333333326 → 733.333333333333.
  it('the metrics cohort start, the account ledger and the product ledger agree', async () => {
    const dir = fixtureDir({
      'subscriptions.csv': [
        ['account_id', 'product', 'start_date', 'amount', 'interval', 'currency'],
        ['E', 'p1', '2024-01-01', '1000', 'quarter', 'EUR'],
        ['E', 'p2', '2024-01-01', '1000', 'quarter', 'EUR'],
      ],
      'fx_rates.csv': [
        ['currency', 'month', 'rate'],
        ['EUR', '2024-01', '1.1'],
      ],
    });
    try {
      const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-03', fx: 'monthly' } });
      try {
        const account = (await mrrLedger(ws)).find((r) => r.month === '2024-01')!.mrr.value;
        const products = (await mrrLedger(ws, { byProduct: true })).filter((r) => r.month === '2024-01').reduce((x, r) => x.plus(r.mrr.value), ZERO);
        const [m] = await metrics(ws, { month: '2024-02', window: 1 });
        const [mv] = await metrics(ws, { month: '2024-02', window: 1, method: 'movements' });
        expect(mv!.starting_mrr.value).toBe(account); // the movements method reads the account ledger
        expect(m!.starting_mrr.value).toBe(account);
        expect(products.toFixed()).toBe(account);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});
