import type { SignalSourceName } from '../contract/signal-contract.js';
import type { Driver } from '../drivers/driver.js';
import { withSmallPlans } from './small-plans.js';
import {
  dataFacts,
  factsAfterIngest,
  revenueFactsIn,
  revenueFactsOf,
  sqlRevenueFact,
  sqlRevenueFacts,
  sqlValuesHeld,
  sqlSignalLatest,
  type DataFacts,
  type RevenueFacts,
  type RevenueRelations,
} from '../workspace/data-facts.js';

/**
 * What a batch changed, for the facts: every row of the changed accounts before and after it
 * (revenue), or the signal rows it replaced or withdrew and those it added.
 */
export type FactsChange =
  | { readonly kind: 'revenue'; readonly before: RevenueRelations; readonly after: RevenueRelations }
  | { readonly kind: 'signal'; readonly source: SignalSourceName; readonly before: string; readonly after: string };

/** The parts of the facts read before the store is written (they describe the rows about to go). */
export interface FactsBefore {
  readonly change: FactsChange;
  readonly revenue: RevenueFacts | null;
  readonly signalLatest: string | null;
  /** The facts of the rows a revenue batch puts in, when they were read before the store was written (see prepareModel). */
  readonly added?: RevenueFacts;
}

/** Reads, before the batch is written, the facts of the rows it takes away. */
export async function factsBeforeBatch(w: Driver, change: FactsChange): Promise<FactsBefore> {
  if (change.kind === 'revenue') return { change, revenue: revenueFactsOf((await w.query(sqlRevenueFacts(change.before)))[0]!), signalLatest: null };
  const [r] = await w.query(`SELECT CAST(d AS VARCHAR) AS d FROM (${sqlSignalLatest(change.source, change.before)})`);
  return { change, revenue: null, signalLatest: (r?.['d'] as string | null) ?? null };
}

/**
 * The facts after a batch, from those before it and the rows it took away and added, without
 * reading the other accounts' rows: counts move by the difference; a first or latest date moves
 * with the added rows unless a row taken away held it (then that one figure is read again from the
 * whole table); a currency or product of a row taken away and not added back is looked for among
 * the rows left (each read until one holding it is found), never every row's listed again;
 * the files' warnings are kept (a batch never writes them) and the usage set aside is read again
 * only after a revenue batch.
 * `w` reads the store after the batch through the names of the workspace's tables. Equal to
 * `dataFacts` over the store after the batch (the store property test checks it). `small`: the
 * rows after the batch are a few scratch rows, read without the optimizer (see withSmallPlans).
 */
export async function factsAfterBatch(w: Driver, old: DataFacts, before: FactsBefore, currency: string, small = false): Promise<DataFacts> {
  // A store written before the signal dates were kept apart: read everything once.
  if (old.latestSignals === undefined) return dataFacts(w, old.sources, currency);
  const change = before.change;
  let revenue = revenueFactsIn(old);
  let signals = old.latestSignals;
  const whole: RevenueRelations = { lines: 'lines', usage: 'usage_charges', contributions: 'mrr_contributions' };
  if (change.kind === 'revenue') {
    const gone = before.revenue!;
    const added = before.added ?? revenueFactsOf((await withSmallPlans(w, small, () => w.query(sqlRevenueFacts(change.after))))[0]!);
    // A figure a removed row may have held is read again from the store after the batch, that figure alone.
    const read = async (fact: 'first_date' | 'last_date' | 'latest'): Promise<string | null> => {
      const [r] = await w.query(`SELECT (${sqlRevenueFact(whole, fact)}) AS v`);
      return (r?.['v'] as string | null) ?? null;
    };
    const readMonth = async (): Promise<number | null> => {
      const [r] = await w.query(`SELECT (${sqlRevenueFact(whole, 'first_month')}) AS v`);
      return r?.['v'] === null || r?.['v'] === undefined ? null : Number(r['v']);
    };
    revenue = {
      accounts: old.accounts - gone.accounts + added.accounts,
      lines: old.lines - gone.lines + added.lines,
      firstDate: await extreme('min', old.firstDate, gone.firstDate, added.firstDate, () => read('first_date')),
      lastDate: await extreme('max', old.lastDate, gone.lastDate, added.lastDate, () => read('last_date')),
      firstMonth: await extreme('min', old.firstMonth, gone.firstMonth, added.firstMonth, readMonth),
      latest: await extreme('max', old.latestRevenue, gone.latest, added.latest, () => read('latest')),
      currencies: await kept(w, whole, 'currency', old.currencies, gone.currencies, added.currencies),
      products: await kept(w, whole, 'product', old.products, gone.products, added.products),
    };
  } else {
    const [r] = await w.query(`SELECT CAST(d AS VARCHAR) AS d FROM (${sqlSignalLatest(change.source, change.after)})`);
    const added = (r?.['d'] as string | null) ?? null;
    signals = await extreme('max', signals, before.signalLatest, added, async () => {
      const present = old.presentSignals;
      const [x] = await w.query(`SELECT CAST(max(d) AS VARCHAR) AS d FROM (${['SELECT NULL::DATE AS d', ...present.map((p) => sqlSignalLatest(p, `signal_${p}`))].join(' UNION ALL ')})`);
      return (x?.['d'] as string | null) ?? null;
    });
  }
  return factsAfterIngest(w, old, currency, revenue, signals, change.kind === 'revenue');
}

/**
 * The least (or greatest) value after rows holding `gone` were taken away and rows holding `added`
 * put in, from `old` over all rows: only when a row taken away may have held the extreme, and the
 * rows put in do not reach it, is it read again. (The rest of the rows hold at most `old`; with
 * `added` at least as far as `gone`, the new extreme is the farther of `old` and `added`.)
 */
async function extreme<T extends string | number>(kind: 'min' | 'max', old: T | null, gone: T | null, added: T | null, read: () => Promise<T | null>): Promise<T | null> {
  const better = (a: T, b: T): boolean => (kind === 'min' ? a < b : a > b);
  // A row taken away may have held it: unless the rows put in hold as much, it is read again.
  if (gone !== null && (old === null || !better(old, gone)) && (added === null || better(gone, added))) return read();
  if (added === null) return old;
  return old === null || better(added, old) ? added : old;
}

/**
 * The currencies (or products) after a batch: those before it and those it adds, less those of the
 * rows it took away that no row holds any more (asked of the store for those values alone, each read
 * until a row holding it is found, instead of listing every row's).
 */
async function kept(w: Driver, whole: RevenueRelations, column: 'currency' | 'product', old: readonly string[], gone: readonly string[], added: readonly string[]): Promise<string[]> {
  const maybeLeft = gone.filter((v) => !added.includes(v));
  if (maybeLeft.length === 0) return union(old, added);
  const held = new Set((await w.query(sqlValuesHeld(whole, column, maybeLeft, (v) => w.dialect.quoteString(v)))).map((r) => String(r['v'])));
  return union(
    old.filter((v) => !maybeLeft.includes(v) || held.has(v)),
    added,
  );
}

/** Sorted as the database sorts text (by code point, as UTF-8 bytes compare). */
const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
