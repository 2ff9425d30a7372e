import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastFullMonth, monthText } from '../engine/months.js';
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
 * @returns the generation result, or null when the folder was already up to date
 */
export async function ensureDemo(
  dir: string,
  options: { accounts?: number; seed?: number; today?: Date; onProgress?: (label: string) => void } = {},
): Promise<GenerateResult | null> {
  const want: DemoStamp = {
    generator: GENERATOR_VERSION,
    accounts: options.accounts ?? 3000,
    seed: options.seed ?? DEFAULT_SEED,
    end: monthText(lastFullMonth(options.today ?? new Date())),
  };
  const stampPath = join(dir, STAMP);
  if (existsSync(stampPath) && existsSync(join(dir, 'subscriptions.csv'))) {
    try {
      const have = JSON.parse(readFileSync(stampPath, 'utf8')) as DemoStamp;
      if (JSON.stringify(have) === JSON.stringify(want)) return null;
    } catch {
      // An unreadable stamp: generate again.
    }
  }
  const result = await generateCompany({ out: dir, accounts: want.accounts, seed: want.seed, end: want.end, onProgress: options.onProgress });
  writeFileSync(stampPath, JSON.stringify(want) + '\n');
  return result;
}
