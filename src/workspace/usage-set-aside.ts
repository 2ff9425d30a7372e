import type { Driver } from '../drivers/driver.js';
import { Money } from '../money.js';
import type { ValidationIssue } from './validation-report.js';

/** Usage charges that are not MRR: their month is outside every contract line of their account. */
export interface UsageSetAside {
  readonly charges: number;
  readonly accounts: number;
  /** Their total in the reporting currency, each at its month's rate. */
  readonly amount: Money;
  /** The reporting currency. */
  readonly currency: string;
}

/**
 * Counts `usage_set_aside` (see sqlUsageSetAside) and, when it is not empty, words the warning
 * that every command prints, so no usage is left out silently.
 * @example (await usageSetAside(driver, 'usage.csv', 'USD')).summary.charges // 12
 */
export async function usageSetAside(
  driver: Driver,
  usageFile: string | undefined,
  currency: string,
): Promise<{ summary: UsageSetAside; warnings: ValidationIssue[] }> {
  const r = (
    await driver.query(`SELECT count(*) AS n, count(DISTINCT account_id) AS accounts, CAST(coalesce(sum(amount), 0) AS VARCHAR) AS amount,
                               min(account_id) AS example FROM usage_set_aside`)
  )[0]!;
  const summary: UsageSetAside = { charges: Number(r['n']), accounts: Number(r['accounts']), amount: Money.from(r['amount']), currency };
  if (summary.charges === 0) return { summary, warnings: [] };
  return {
    summary,
    warnings: [
      {
        source: 'usage',
        file: usageFile ?? 'usage',
        row: 0,
        column: 'month',
        value: null,
        expected:
          `a month in which the account has a contract line in force: ${summary.charges} usage charge(s) of ${summary.accounts} account(s), ` +
          `${summary.amount.toFixed(2)} ${currency} in all, fall outside every line of their account and are not MRR ` +
          `(e.g. nrr explain ${String(r['example'])}; docs/definitions.md#usage)`,
        severity: 'warning',
      },
    ],
  };
}
