import { Option, type Command } from 'commander';
import { NrrError } from '../errors.js';
import { monthIndex, monthText } from '../engine/months.js';
import { stringifyJson } from '../money.js';
import { viewTasks } from '../playbooks/task-views.js';
import { AT_RISK_RULE, books, renewals } from '../queries/renewal-queries.js';
import { month, open, outOption, withDataOptions, type CommonOptions } from './common-options.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';
import { writeOutput } from './standard-output.js';
import { whereOption, type WhereOptions } from './where-option.js';
import type { Workspace } from '../workspace/workspace.js';

/** The accounts a --where keeps (null without one). */
async function keptAccounts(ws: Workspace, o: WhereOptions): Promise<Set<string> | null> {
  if (o.where === undefined) return null;
  const { filteredAccountIds } = await import('../queries/attribute-queries.js');
  return new Set(await filteredAccountIds(ws, o.where));
}

const RENEWAL_COLUMNS = ['renewal_date', 'account_id', 'name', 'owner', 'segment', 'arr', 'risk', 'health', 'health_colour', 'churn_probability_90d', 'at_risk', 'arr_at_risk', 'expected_arr_loss'];
const BOOK_COLUMNS = ['owner', 'accounts', 'arr', 'at_risk_accounts', 'arr_at_risk', 'open_tasks', 'overdue_tasks', 'renewals_90d', 'renewals_90d_arr', 'churned_accounts', 'churned_mrr', 'expanded_accounts', 'expansion_mrr'];

/** `nrr renewals` and `nrr book`: the CS views of the dashboard as rows. */
export function registerCsViews(program: Command): void {
  withDataOptions(program.command('renewals').description('contract renewals by date in a range of months: ARR, owner, risk, health, ARR at risk'), { asOfDate: true })
    .option('--from <YYYY-MM>', 'first month of renewal dates (default: the month of the day)', month)
    .option('--to <YYYY-MM>', 'last month (default: two months after --from)', month)
    .option('--owner <name>', 'only this CSM owner (case-insensitive)')
    .option('--forecast', 'also each renewal’s 90-day churn probability from the forecast (takes longer: it fits the forecast)')
    .addOption(whereOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .addHelpText(
      'after',
      `
At risk: ${AT_RISK_RULE}; arr_at_risk is the ARR of those accounts. With --forecast,
expected_arr_loss = ARR × the 90-day churn probability. JSON adds a summary per month.

Examples:
  nrr renewals --data demo                                  the next three months
  nrr renewals --data demo --from 2026-07 --to 2026-12 --owner "Maya Patel" --format csv
  nrr renewals --data demo --forecast --format json -o renewals.json
  nrr renewals --data demo --where region=EMEA --where segment=enterprise`,
    )
    .action(async (o: CommonOptions & WhereOptions & { from?: string; to?: string; owner?: string; forecast?: boolean; format: RowFormat }) => {
      const ws = await open(o, { signals: true });
      try {
        const { DashboardData } = await import('../serve/dashboard-data.js');
        const data = new DashboardData(ws);
        const from = o.from ?? data.asOfDate.slice(0, 7);
        const to = o.to ?? monthText(monthIndex(from) + 2);
        if (monthIndex(from) > monthIndex(to)) throw new NrrError(`--from ${from} is after --to ${to}`);
        let probabilities: Map<string, number> | null = null;
        if (o.forecast) {
          const { forecast } = await import('../forecast/forecast.js');
          probabilities = new Map((await forecast(ws, { horizonDays: 90 })).accounts.map((a) => [a.account_id, a.churn_probability]));
        }
        const owner = o.owner?.toLowerCase();
        const kept = await keptAccounts(ws, o);
        const accounts = (await data.accounts()).filter((a) => (owner === undefined || a.csm_owner?.toLowerCase() === owner) && (kept === null || kept.has(a.account_id)));
        const r = renewals(accounts, { from, to }, probabilities);
        if (o.format === 'json') await writeOutput(o, stringifyJson({ as_of: data.asOfDate, from, to, at_risk_rule: AT_RISK_RULE, by_month: r.by_month, rows: r.rows }) + '\n');
        else await writeOutput(o, formatRows(r.rows as unknown as Record<string, never>[], RENEWAL_COLUMNS, o.format));
      } finally {
        ws.close();
      }
    });

  withDataOptions(program.command('book').description('book of business per owner: accounts, ARR, at-risk ARR, open and overdue tasks, renewals in the next 90 days, churn and expansion in a period'), { asOfDate: true })
    .option('--owner <name>', 'only this owner (case-insensitive)')
    .option('--from <YYYY-MM>', 'first month of the period whose churn and expansion each owner adds (default: 11 months before --to)', month)
    .option('--to <YYYY-MM>', "last month of the period (default: the reporting month); before it, the book is that month's last day's, as with --as-of", month)
    .addOption(whereOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .addHelpText(
      'after',
      `
Owners are the accounts' CSM owner (csm_owner, csm or owner in accounts.csv); tasks count by their
owner. At risk: ${AT_RISK_RULE}. Overdue: open, not snoozed, due before the day. Churned and
expanded: the accounts with a churn or an expansion movement in --from…--to, and that MRR
(churned_mrr the MRR lost, as a positive amount); owners are the accounts' owners today, and
tasks read as on the day whatever the month.

Examples:
  nrr book --data demo
  nrr book --data demo --from 2026-01 --to 2026-03      the book on 31 March, churn and expansion in Q1
  nrr book --data demo --owner "Maya Patel" --format json
  nrr book --data demo --where segment=enterprise     accounts and their tasks in that segment only`,
    )
    .action(async (o: CommonOptions & WhereOptions & { owner?: string; from?: string; to?: string; format: RowFormat }) => {
      let ws = await open(o, { signals: true });
      try {
        const to = o.to === undefined ? ws.asOfMonth : monthIndex(o.to);
        if (to > ws.asOfMonth) throw new NrrError(`--to ${o.to} is after the reporting month ${ws.summary.asOf}`);
        const from = o.from === undefined ? to - 11 : monthIndex(o.from);
        if (from > to) throw new NrrError(`--from ${o.from} is after --to ${monthText(to)}`);
        const { DashboardData } = await import('../serve/dashboard-data.js');
        // Tasks read as on the day (as the server reads them), whatever month the book is of.
        const taskDay = new DashboardData(ws).asOfDate;
        // A period that ends before the reporting month: the book as of its last day (as --as-of).
        if (to < ws.asOfMonth) {
          ws.close();
          ws = await open({ ...o, asOf: monthText(to) }, { signals: true });
        }
        const data = new DashboardData(ws);
        const kept = await keptAccounts(ws, o);
        const tasks = viewTasks(await data.tasks({}), { status: 'all' }, taskDay).filter((t) => kept === null || kept.has(t.account_id));
        const accounts = await data.accounts();
        const { ownerPeriods } = await import('../queries/book-period-queries.js');
        const periods = await ownerPeriods(ws, { from, to, where: o.where });
        const rows = books(kept === null ? accounts : accounts.filter((a) => kept.has(a.account_id)), tasks, o.owner, periods);
        await writeOutput(o, formatRows(rows as unknown as Record<string, never>[], BOOK_COLUMNS, o.format));
      } finally {
        ws.close();
      }
    });
}
