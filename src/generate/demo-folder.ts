import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lastFullMonth, monthText } from '../engine/months.js';
import { dataFilesIn, foreignFiles, recordWritten, writeOwnedFiles } from '../workspace/owned-files.js';
import { DEFAULT_SEED, generateCompany, type GenerateResult } from './generate-company.js';

/** What a demo folder was generated with; a folder made with other settings is made again. */
interface DemoStamp {
  readonly generator: number;
  readonly accounts: number;
  readonly seed: number;
  readonly end: string;
}

/** Bump when the generator's output changes, so that old demo folders are regenerated. */
const GENERATOR_VERSION = 3;
const STAMP = '.nrr-demo.json';

/**
 * Makes sure `dir` holds the demo company for these settings, generating it when absent or stale.
 * A folder holding data files that nrr did not write is refused (generateCompany says which),
 * unless `force`.
 * @returns the generation result, or null when the folder was already up to date
 */
export async function ensureDemo(
  dir: string,
  options: { accounts?: number; seed?: number; today?: Date; onProgress?: (label: string) => void; force?: boolean } = {},
): Promise<GenerateResult | null> {
  const want: DemoStamp = {
    generator: GENERATOR_VERSION,
    accounts: options.accounts ?? 3000,
    seed: options.seed ?? DEFAULT_SEED,
    end: monthText(lastFullMonth(options.today ?? new Date())),
  };
  const stampPath = join(dir, STAMP);
  adoptLegacyDemo(dir, stampPath);
  // Up to date only when every data file is still the demo's: a file of the user's is never read as the demo.
  if (existsSync(stampPath) && existsSync(join(dir, 'subscriptions.csv')) && foreignFiles(dir, [STAMP, ...dataFilesIn(dir)]).length === 0) {
    try {
      const have = JSON.parse(readFileSync(stampPath, 'utf8')) as DemoStamp;
      if (JSON.stringify(have) === JSON.stringify(want)) return null;
    } catch {
      // An unreadable stamp: generate again.
    }
  }
  const result = await generateCompany({ out: dir, accounts: want.accounts, seed: want.seed, end: want.end, onProgress: options.onProgress, force: options.force });
  writeOwnedFiles(dir, [[STAMP, JSON.stringify(want) + '\n']]);
  return result;
}

/**
 * A demo folder made before files were recorded as nrr's has a stamp and no record: its data files
 * not changed since the stamp was written (the last step of generating) are the demo's.
 */
function adoptLegacyDemo(dir: string, stampPath: string): void {
  if (!existsSync(stampPath) || foreignFiles(dir, [STAMP]).length === 0) return;
  const stamped = statSync(stampPath).mtimeMs;
  const ours = foreignFiles(dir, dataFilesIn(dir)).filter((n) => statSync(join(dir, n)).mtimeMs <= stamped);
  if (ours.length > 0) recordWritten(dir, ours);
}
