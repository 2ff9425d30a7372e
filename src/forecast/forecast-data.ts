import { signalFilesWithRows } from '../accounts/account-records.js';
import { readColumns } from '../drivers/driver.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { sqlCommittedChanges, sqlForecastMonths, sqlForecastOutcomes, sqlForecastRows, sqlSampleAccounts } from './forecast-features-sql.js';
import { toForecastRows, type ForecastRow } from './hazard-features.js';

/** The attribute whose values the model and the size model tell apart: the health score's segment attribute, or `segment`. */
export function modelGroupAttribute(ws: Workspace): string | null {
  const a = ws.scoring.health.segment_attribute;
  return ws.attributes.includes(a) ? a : ws.attributes.includes('segment') ? 'segment' : null;
}

async function setMonths(ws: Workspace, months: readonly number[]): Promise<void> {
  for (const sql of sqlForecastMonths(ws.driver.dialect, months)) await ws.driver.exec(sql);
}

/** Every account × month-end row of the given months, features and next-month outcome, in one query. */
export async function loadForecastRows(ws: Workspace, months: readonly number[], sample: { readonly fullMonth: number; readonly share: number } | null = null): Promise<ForecastRow[]> {
  const [t] = await ws.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'signal_seats'`);
  if (Number(t!['n']) === 0) throw new NrrError('the forecast reads the signal files: open the workspace with signals: true');
  const d = ws.driver.dialect;
  const group = modelGroupAttribute(ws);
  if (sample && sample.share < 1) {
    // The sampled accounts' history, then every account in the full month: account records are
    // computed only for the accounts each part needs.
    await ws.driver.exec(sqlSampleAccounts(d, sample.share));
    await setMonths(ws, months.filter((m) => m !== sample.fullMonth));
    await ws.driver.exec(sqlForecastRows(d, ws.policies.reporting_currency, group, 'forecast_sample'));
    await setMonths(ws, [sample.fullMonth]);
    await ws.driver.exec(sqlForecastRows(d, ws.policies.reporting_currency, group, null, true));
  } else {
    await setMonths(ws, months);
    await ws.driver.exec(sqlForecastRows(d, ws.policies.reporting_currency, group));
  }
  // Read by column: an object per row and column costs more than the query at 100,000 accounts.
  return toForecastRows(await readColumns(ws.driver, 'SELECT * FROM forecast_rows ORDER BY month_index, account_id'));
}

/** Accounts with ledger MRR at the end of a month. */
export async function accountsAt(ws: Workspace, month: number): Promise<number> {
  const [r] = await ws.query(`SELECT count(*) AS n FROM account_ranges WHERE from_month <= ${month} AND ${month} < to_month`);
  return Number(r!['n']);
}

/** Each account's ledger MRR at the end of a month (those with MRR then), exact. */
export async function loadMrrAt(ws: Workspace, month: number): Promise<Map<string, Money>> {
  const rows = await ws.query(`SELECT account_id, mrr FROM account_ranges WHERE from_month <= ${month} AND ${month} < to_month`);
  return new Map(rows.map((r) => [String(r['account_id']), Money.from(r['mrr'])]));
}

/** Per month and account: ledger MRR then and `horizonMonths` later (for the backtest's actuals). */
export async function loadOutcomes(ws: Workspace, months: readonly number[], horizonMonths: number): Promise<Map<number, { account_id: string; start: number; end: number }[]>> {
  await setMonths(ws, months);
  await ws.driver.exec(sqlForecastOutcomes(horizonMonths));
  const rows = await ws.query('SELECT month_index, account_id, mrr_start, mrr_end FROM forecast_outcomes ORDER BY month_index, account_id');
  const out = new Map<number, { account_id: string; start: number; end: number }[]>();
  for (const r of rows) {
    const m = Number(r['month_index']);
    if (!out.has(m)) out.set(m, []);
    out.get(m)!.push({ account_id: String(r['account_id']), start: Number(r['mrr_start']), end: Number(r['mrr_end']) });
  }
  return out;
}

/** The committed layer: each account's known change of contract MRR from `from` to `at` (see sqlCommittedChanges). */
export async function loadCommitted(ws: Workspace, from: string, at: string, known: string | null): Promise<Map<string, Money>> {
  const rows = await ws.query(sqlCommittedChanges(ws.driver.dialect, from, at, known));
  return new Map(rows.map((r) => [String(r['account_id']), Money.from(r['committed_change'])]));
}

/** Each account's value of an attribute (for --by). */
export async function loadAttribute(ws: Workspace, attribute: string): Promise<Map<string, string>> {
  if (!ws.attributes.includes(attribute)) throw new NrrError(`--by: no account attribute '${attribute}' (attributes: ${ws.attributes.join(', ') || 'none: no accounts file'})`);
  const q = ws.driver.dialect.quoteIdent;
  const rows = await ws.query(`SELECT account_id, CAST(${q(attribute)} AS VARCHAR) AS v FROM accounts`);
  return new Map(rows.map((r) => [String(r['account_id']), r['v'] === null ? '(none)' : String(r['v'])]));
}

export async function filesWithRows(ws: Workspace): Promise<Set<string>> {
  return signalFilesWithRows(ws);
}
