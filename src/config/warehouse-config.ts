import { z } from 'zod';
import { SOURCES, type SourceName } from '../contract/data-contract.js';

/** A plain SQL name: letters, digits and '_', not starting with a digit. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `schema.table`, `table` or `database.schema.table`: plain names joined by dots. */
const tableNameSchema = z
  .string()
  .refine((s) => s.split('.').length <= 3 && s.split('.').every((p) => NAME.test(p)), {
    message: "a table or view as name, schema.name or database.schema.name (letters, digits and '_' in each part), e.g. analytics.billing_lines",
  });

const columnNameSchema = z.string().regex(NAME, "a column name of the table (letters, digits and '_')");

const contractColumns = (source: SourceName): string[] => {
  const spec = SOURCES[source];
  return [...spec.columns, ...(spec.alternatives ?? [])].map((c) => c.name);
};

/** A source's table, and the table's name for each contract column it calls otherwise; a plain name is `{ table: name }`. */
const tableSchema = (source: SourceName) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? { table: v } : v),
    z
      .object(
        {
          table: tableNameSchema,
          columns: z
            .partialRecord(
              z.enum(contractColumns(source) as [string, ...string[]], {
                error: (issue) => `'${String(issue.input)}' is not a column of ${source} (expected one of ${contractColumns(source).join(', ')})`,
              }),
              columnNameSchema,
              { error: `a map from a column of ${source} (${contractColumns(source).join(', ')}) to the table's column, e.g. { account_id: customer_id }` },
            )
            .default({}),
        },
        { error: `a table name (schema.table), or { table: schema.table, columns: { contract column: the table's column } }` },
      )
      .strict(),
  );

/**
 * `warehouse:` in the workspace config: the warehouse the model is computed in (and, on PostgreSQL,
 * the workspace store kept), and the tables of it that hold the contract's sources, if any
 * (docs/engines.md, Reading tables already in the warehouse).
 * @example warehouse: { url: 'duckdb:billing.duckdb', tables: { subscriptions: analytics.billing_lines } }
 */
export const warehouseConfigSchema = z
  .object({
    /** The warehouse holding the tables: postgres://…, clickhouse://embedded or duckdb:FILE; `--store` overrides it. */
    url: z
      .string()
      .regex(/^(postgres|postgresql|clickhouse|duckdb):/i, 'a URL starting postgres://, clickhouse:// or duckdb: (see docs/engines.md)')
      .optional(),
    /** The environment variable that holds the URL (so that a password stays out of the file). */
    url_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    tables: z
      .object({
        subscriptions: tableSchema('subscriptions'),
        accounts: tableSchema('accounts').optional(),
        usage: tableSchema('usage').optional(),
        fx_rates: tableSchema('fx_rates').optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((w) => w.url === undefined || w.url_env === undefined, { message: 'give url or url_env, not both', path: ['url_env'] })
  .refine((w) => w.tables !== undefined || w.url !== undefined || w.url_env !== undefined, {
    message: 'give the warehouse (url or url_env), its tables (tables), or both',
  });

export type WarehouseConfig = z.infer<typeof warehouseConfigSchema>;

/** A source's table in the warehouse: its name as the config gives it, and its columns' names when they differ from the contract's. */
export interface SourceTable {
  readonly table: string;
  /** Contract column → the table's column. */
  readonly columns: Readonly<Partial<Record<string, string>>>;
}

export type SourceTables = Partial<Record<SourceName, SourceTable>>;
