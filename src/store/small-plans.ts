import type { Driver } from '../drivers/driver.js';

/**
 * Runs `f` with DuckDB's query optimizer off when `small`. An ingested change runs long statements
 * (the contract's rules, the model, the facts) over scratch tables of a few rows: DuckDB takes far
 * longer to optimise such a statement than to run it unoptimised over those rows. The results are
 * the same (the optimizer only chooses how a statement runs, never what it returns). Statements
 * that read the store's whole tables must keep the optimizer (it prunes them to the changed
 * accounts' row groups): they are run outside `f`.
 */
export async function withSmallPlans<T>(w: Driver, small: boolean, f: () => Promise<T>): Promise<T> {
  if (!small) return f();
  await w.exec('PRAGMA disable_optimizer');
  try {
    return await f();
  } finally {
    await w.exec('PRAGMA enable_optimizer');
  }
}

/** Each database's own number of threads, read once (a setting of the whole database, not of a connection). */
const threadsOf = new WeakMap<Driver, number>();

/**
 * Runs `f` on one of DuckDB's threads when `small`: a statement over a few rows is split into
 * tasks that other threads pick up, and waking them costs more than the work (an ingested change
 * took a third less CPU on one thread, measured in docs/store.md). The number of threads is a
 * setting of the database: statements of other connections that run meanwhile run on one thread
 * too, and it is set back afterwards.
 */
export async function withOneThread<T>(w: Driver, small: boolean, f: () => Promise<T>): Promise<T> {
  if (!small) return f();
  let threads = threadsOf.get(w);
  if (threads === undefined) {
    threads = Number((await w.query(`SELECT current_setting('threads') AS t`))[0]!['t']);
    threadsOf.set(w, threads);
  }
  if (threads <= 1) return f();
  await w.exec('SET threads = 1');
  try {
    return await f();
  } finally {
    await w.exec(`SET threads = ${threads}`);
  }
}
