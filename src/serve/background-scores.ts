import { materializeAccountScores } from '../accounts/account-scores.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * Accounts scored per statement when every account is scored beside the pages' reads: a page's
 * read asked while a range runs shares the machine with that range only (the next one waits for
 * the pages' reads), so the smaller the range the less it waits; each range costs one more statement.
 */
export const BACKGROUND_SCORE_ACCOUNTS = 10_000;

/**
 * Every account's scores on `day` into `table`, in ranges of `chunk` accounts (by account_id, the
 * order the store keeps its tables in, so that each statement reads only those accounts' rows),
 * one statement after another. Before each, `yieldTo` is awaited: the pages' reads asked meanwhile
 * run first, so that an account's page waits for at most one range, not for every account. The
 * table is the one a single statement over every account writes (an account's scores read no other
 * account's rows).
 * @example await scoreInRanges(ws, { day: '2026-06-30', table: 'dashboard_scores', chunk: 10_000, yieldTo: () => data.pagesIdle() });
 */
export async function scoreInRanges(ws: Workspace, o: { readonly day: string; readonly table: string; readonly chunk: number; readonly yieldTo: () => Promise<unknown> }): Promise<void> {
  // An account is scored when it has contract lines (account-record-sql.ts): the ranges are cut between theirs.
  const starts = (
    await ws.query(`SELECT account_id FROM (SELECT account_id, row_number() OVER (ORDER BY account_id) - 1 AS i FROM (SELECT DISTINCT account_id FROM lines)) WHERE i % ${o.chunk} = 0 ORDER BY account_id`)
  ).map((r) => String(r['account_id']));
  if (starts.length <= 1) {
    await materializeAccountScores(ws, { days: [o.day], table: o.table });
    return;
  }
  for (let k = 0; k < starts.length; k++) {
    await o.yieldTo();
    // The first range has no lower end and the last no upper end: every id falls in one.
    const accounts = { from: k === 0 ? '' : starts[k]!, to: starts[k + 1] ?? null };
    await materializeAccountScores(ws, { days: [o.day], table: o.table, accounts, mode: k === 0 ? 'replace' : 'insert' });
  }
}
