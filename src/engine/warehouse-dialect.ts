import type { ColumnKind, NativeColumn, SourceFormat } from './dialect.js';

/**
 * What a warehouse dialect (PostgreSQL, ClickHouse) leaves to DuckDB: the contract files lie on
 * this machine, so DuckDB reads and checks them, and the typed tables it makes are copied into the
 * warehouse (src/workspace/warehouse-model.ts). The model (ledger, movements, metrics) runs in the
 * warehouse. These methods name that split instead of producing SQL an engine cannot run.
 */
export abstract class WarehouseDialect {
  abstract readonly name: string;

  private fileWork(what: string): never {
    throw new Error(`${this.name} does not ${what}: the contract files are read and checked by DuckDB, then copied into the warehouse`);
  }

  sqlReadAsText(_path: string, _format: SourceFormat, _columns: readonly string[], _delimiter?: string): string {
    return this.fileWork('read files');
  }

  sqlReadParquet(_path: string, _native: ReadonlySet<string>): string {
    return this.fileWork('read files');
  }

  sqlDescribe(_path: string, _format: Exclude<SourceFormat, 'csv'>): string {
    return this.fileWork('read files');
  }

  nativeColumn(_columnType: string, _kind: Exclude<ColumnKind, 'text'>): NativeColumn | null {
    return null;
  }

  sqlTryMoney(_textExpr: string): string {
    return this.fileWork('parse text');
  }

  sqlTryRate(_textExpr: string): string {
    return this.fileWork('parse text');
  }

  sqlTryDate(_textExpr: string, _timeZone?: string): string {
    return this.fileWork('parse text');
  }

  sqlNativeRate(_expr: string): string {
    return this.fileWork('read files');
  }

  sqlTryMonth(_trimmedExpr: string): string {
    return this.fileWork('parse text');
  }

  sqlNativeDate(_expr: string, _native: NativeColumn, _timeZone?: string): string {
    return this.fileWork('read files');
  }

  sqlNativeMoney(_expr: string): string {
    return this.fileWork('read files');
  }

  sqlDateProblem(_textExpr: string): string {
    return this.fileWork('check files');
  }

  sqlHash(_exprs: readonly string[]): string {
    return this.fileWork('check files');
  }

  sqlIsPlainAscii(_textExpr: string): string {
    return this.fileWork('check files');
  }

  isBooleanType(_columnType: string): boolean {
    return false;
  }

  isNumberType(_columnType: string): boolean {
    return false;
  }
}
