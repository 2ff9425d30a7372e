import { Option, type Command } from 'commander';
import { NrrError } from '../errors.js';
import { stringifyJson } from '../money.js';
import { SERIES_COLUMNS, checkFilter, revenueSeries } from '../queries/series-queries.js';
import { month, outOption, withDataOptions, withWorkspace, type CommonOptions } from './common-options.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';
import { writeOutput } from './standard-output.js';
import { whereOption, type WhereOptions } from './where-option.js';

type MrrOptions = CommonOptions &
  WhereOptions & { byProduct?: boolean; account?: string; total?: boolean; from?: string; to?: string; format: RowFormat };

/** `nrr mrr`: the ledger per account and month, or (--total) the company's MRR and its monthly bridge. */
export function registerMrr(program: Command): void {
  withDataOptions(program.command('mrr').description('MRR per account and month (account_id, month, mrr); --total: company MRR, ARR, customers and the monthly bridge'))
    .option('--by-product', 'one row per account, product and month')
    .option('--account <id>', 'only this account')
    .option('--total', 'one row per month for the company: month, mrr, arr, customers, new, expansion, reactivation, contraction, churn, net_new')
    .option('--from <YYYY-MM>', 'with --total: first month (default: the first month with revenue)', month)
    .option('--to <YYYY-MM>', 'with --total: last month (default: the reporting month)', month)
    .addOption(whereOption())
    .addHelpText(
      'after',
      `
With --total each month's bridge adds up: mrr(month) = mrr(month before) + net_new, where
net_new = new + expansion + reactivation − contraction − churn (contraction and churn are positive
amounts lost). customers counts accounts with MRR above zero; arr = mrr × 12. With --fx monthly a
column fx (the month's revaluation, in no movement) is added so that the bridge still adds up.

Examples:
  nrr mrr --data demo --account A0000042
  nrr mrr --data demo --by-product --format csv > mrr.csv
  nrr mrr --data demo --total --format csv > company-mrr.csv
  nrr mrr --data demo --total --where segment=enterprise --where region=EMEA --from 2025-01`,
    )
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .action(async (o: MrrOptions) => {
      if (!o.total && (o.from !== undefined || o.to !== undefined)) throw new NrrError('--from and --to go with --total (the ledger lists every month)');
      if (o.total && (o.byProduct || o.account !== undefined)) throw new NrrError('--total is the whole company (or the accounts --where keeps): leave out --by-product and --account');
      await withWorkspace(o, async (ws) => {
        const [{ mrrLedger }, { filteredAccountIds }] = await Promise.all([import('../queries/ledger-queries.js'), import('../queries/attribute-queries.js')]);
        if (o.total) {
          const { rows, fx } = await revenueSeries(ws, { from: o.from, to: o.to, where: o.where });
          const monthlyFx = ws.policies.fx === 'monthly';
          const out = monthlyFx ? rows.map((r, i) => ({ ...r, fx: fx[i]! })) : rows;
          const cols = [...SERIES_COLUMNS, ...(monthlyFx ? ['fx'] : [])];
          await writeOutput(o, o.format === 'json' ? stringifyJson(out) + '\n' : formatRows(out as unknown as Record<string, never>[], cols, o.format));
          return;
        }
        checkFilter(ws, o.where, '--where');
        let rows = await mrrLedger(ws, { byProduct: o.byProduct, account: o.account });
        if (o.where !== undefined) {
          const keep = new Set(await filteredAccountIds(ws, o.where));
          rows = rows.filter((r) => keep.has(r.account_id));
        }
        const cols = o.byProduct ? ['account_id', 'product', 'month', 'mrr'] : ['account_id', 'month', 'mrr'];
        await writeOutput(o, formatRows(rows as unknown as Record<string, never>[], cols, o.format));
      });
    });
}
