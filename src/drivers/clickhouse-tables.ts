import type { ClickHouseDialect } from '../engine/clickhouse-dialect.js';
import { NrrError } from '../errors.js';
import type { CopiedColumn } from './warehouse-driver.js';

/** ClickHouse's type for a column of one of DuckDB's typed tables (every column may be NULL). */
export function clickhouseType(duckdbType: string): string {
  const t = duckdbType.trim().toUpperCase();
  const m = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (m) return `Nullable(Decimal(${m[1]}, ${m[2]}))`;
  const plain: Record<string, string> = {
    VARCHAR: 'String',
    TINYINT: 'Int8',
    SMALLINT: 'Int16',
    INTEGER: 'Int32',
    BIGINT: 'Int64',
    HUGEINT: 'Int128',
    UTINYINT: 'UInt8',
    USMALLINT: 'UInt16',
    UINTEGER: 'UInt32',
    UBIGINT: 'UInt64',
    DOUBLE: 'Float64',
    FLOAT: 'Float32',
    BOOLEAN: 'Bool',
    // Date32 reaches from 1900 to 2299 (Date only from 1970).
    DATE: 'Date32',
    TIMESTAMP: "DateTime64(6, 'UTC')",
    'TIMESTAMP WITH TIME ZONE': "DateTime64(6, 'UTC')",
  };
  const type = plain[t];
  if (type === undefined) throw new NrrError(`a column of type ${duckdbType} cannot be copied into ClickHouse yet`);
  return `Nullable(${type})`;
}

/** The table a copied DuckDB table becomes in ClickHouse, embedded or on a server (in memory for the run, or on disk in a store: the dialect's engine). */
export function sqlCreateCopiedTable(dialect: ClickHouseDialect, name: string, columns: readonly CopiedColumn[]): string {
  const q = dialect.quoteIdent.bind(dialect);
  const cols = columns.map((c) => `${q(c.name)} ${clickhouseType(c.duckdbType)}`).join(', ');
  return `CREATE OR REPLACE TABLE ${q(name)} (${cols}) ENGINE = ${dialect.tableEngine()}`;
}
