import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { SourceFormat } from '../engine/dialect.js';
import { NrrError } from '../errors.js';
import { SOURCES, type SourceName } from './data-contract.js';

export interface SourceFile {
  readonly source: SourceName;
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
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new NrrError(`data folder not found: ${dataDir}`);
  }
  const found: Partial<Record<SourceName, SourceFile>> = {};
  const entries = readdirSync(dataDir);
  for (const source of Object.keys(SOURCES) as SourceName[]) {
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
    } else if (SOURCES[source].required) {
      throw new NrrError(`${dataDir}: no ${source} file (expected ${source}.csv, .parquet, .json or .jsonl)`);
    }
  }
  return found;
}
