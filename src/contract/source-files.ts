import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { SourceFormat } from '../engine/dialect.js';
import { NrrError } from '../errors.js';
import { SOURCES, type SourceName } from './data-contract.js';
import { SIGNAL_SOURCES, type SignalSourceName } from './signal-contract.js';

export interface SourceFile<Name extends string = SourceName> {
  readonly source: Name;
  readonly path: string;
  /** The file name as shown in messages. */
  readonly file: string;
  readonly format: SourceFormat;
}

const FORMATS: Record<string, SourceFormat> = { '.csv': 'csv', '.parquet': 'parquet', '.json': 'json', '.jsonl': 'json', '.ndjson': 'json' };

/**
 * The contract's files present in a data folder.
 * @example findSourceFiles('demo').subscriptions?.format // 'parquet'
 */
export function findSourceFiles(dataDir: string): Partial<Record<SourceName, SourceFile>> {
  const required = new Set((Object.keys(SOURCES) as SourceName[]).filter((s) => SOURCES[s].required));
  return findFiles(dataDir, Object.keys(SOURCES) as SourceName[], required);
}

/** The signal files present in a data folder (none is required). */
export function findSignalFiles(dataDir: string): Partial<Record<SignalSourceName, SourceFile<SignalSourceName>>> {
  return findFiles(dataDir, Object.keys(SIGNAL_SOURCES) as SignalSourceName[], new Set());
}

function findFiles<Name extends string>(
  dataDir: string,
  names: readonly Name[],
  required: ReadonlySet<Name>,
): Partial<Record<Name, SourceFile<Name>>> {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new NrrError(`data folder not found: ${dataDir}`);
  }
  const found: Partial<Record<Name, SourceFile<Name>>> = {};
  const entries = readdirSync(dataDir);
  for (const source of names) {
    const matches = entries.filter((f) => {
      const ext = extname(f).toLowerCase();
      return ext in FORMATS && basename(f, extname(f)) === source;
    });
    if (matches.length > 1) {
      throw new NrrError(`${dataDir}: several files for ${source} (${matches.join(', ')}); keep one`);
    }
    const file = matches[0];
    if (file) {
      found[source] = { source, path: join(dataDir, file), file, format: FORMATS[extname(file).toLowerCase()]! };
    } else if (required.has(source)) {
      throw new NrrError(`${dataDir}: no ${source} file (expected ${source}.csv, .parquet, .json or .jsonl)`);
    }
  }
  return found;
}
