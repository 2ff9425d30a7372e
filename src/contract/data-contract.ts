/**
 * The file data contract: which files a data folder holds and their columns.
 * docs/data-contract.md documents the same contract for users.
 */
import type { ColumnKind } from '../engine/dialect.js';

export type SourceName = 'subscriptions' | 'accounts' | 'usage' | 'fx_rates';

export interface ColumnSpec {
  readonly name: string;
  readonly required: boolean;
  /** Dates and money may come typed in a Parquet file; everything else is read as text. */
  readonly kind: ColumnKind;
}

export interface SourceSpec {
  readonly name: SourceName;
  readonly required: boolean;
  /** Extra columns are kept (accounts) or reported as ignored (the others). */
  readonly extraColumnsAreAttributes: boolean;
  readonly columns: readonly ColumnSpec[];
  /**
   * Columns that give the same value in different forms: a file uses exactly one form, whose
   * first column is then required; columns of the other forms are refused.
   */
  readonly forms?: readonly ContractForm[];
  /** Columns of a form other than the first: read like `columns`, left out of templates (`nrr init`, the demo). */
  readonly alternatives?: readonly ColumnSpec[];
}

/** One way of giving a value: `amount` with `interval`, or `mrr`. */
export interface ContractForm {
  readonly columns: readonly string[];
  /** As the form is named in messages. */
  readonly label: string;
}

/** The form of a subscriptions file: an amount per billing interval, or MRR as it is. */
export type SubscriptionForm = 'amount' | 'mrr';

const col = (name: string, required = false, kind: ColumnKind = 'text'): ColumnSpec => ({ name, required, kind });

export const SOURCES: Record<SourceName, SourceSpec> = {
  subscriptions: {
    name: 'subscriptions',
    required: true,
    extraColumnsAreAttributes: false,
    columns: [
      col('account_id', true),
      col('line_id'),
      col('product'),
      col('start_date', true, 'date'),
      col('end_date', false, 'date'),
      col('amount', false, 'money'),
      col('interval'),
      col('discount', false, 'money'),
      col('currency'),
    ],
    alternatives: [col('mrr', false, 'money')],
    forms: [
      { columns: ['amount', 'interval'], label: 'amount per billing interval (amount, with interval)' },
      { columns: ['mrr'], label: 'monthly recurring revenue as it is (mrr)' },
    ],
  },
  accounts: { name: 'accounts', required: false, extraColumnsAreAttributes: true, columns: [col('account_id', true)] },
  usage: {
    name: 'usage',
    required: false,
    extraColumnsAreAttributes: false,
    columns: [col('account_id', true), col('product'), col('month', true), col('amount', true, 'money'), col('currency')],
  },
  fx_rates: {
    name: 'fx_rates',
    required: false,
    extraColumnsAreAttributes: false,
    columns: [col('currency', true), col('month', true), col('rate', true, 'rate')],
  },
};

/** The product name given to lines and usage without one. */
export const DEFAULT_PRODUCT = 'default';

/** Months since year 0 of the last month of an open-ended line: far beyond any report. */
export const OPEN_END = 9_999_999;

/** The account attributes the demo company has and `nrr init` suggests; any other column works the same way. */
export const SUGGESTED_ACCOUNT_COLUMNS = [
  'account_id',
  'name',
  'segment',
  'industry',
  'region',
  'country',
  'channel',
  'deal_source',
  'icp_fit',
  'csm_owner',
  'am_owner',
  'signup_date',
] as const;
