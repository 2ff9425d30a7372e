import { Option, type Command } from 'commander';
import { DEFAULT_SEED } from '../generate/seed.js';
import { month, positiveInt, today } from './common-options.js';
import { spinnerProgress } from './spinner-progress.js';

const wholeNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`expected a whole number, got '${v}'`);
  return n;
};

/** `nrr generate`: the demo company. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate a realistic synthetic SaaS company (revenue and signal files) into a data folder')
    .requiredOption('-o, --out <dir>', 'folder to write (created if needed); data files in it that nrr did not write are refused')
    .option('--force', 'replace data files in the folder even when nrr did not write them')
    .option('-n, --accounts <n>', 'accounts to simulate', positiveInt, 3000)
    .option('-m, --months <n>', 'months of history', positiveInt, 48)
    .option('-s, --seed <n>', 'random seed: the same seed gives the same files, byte for byte', wholeNumber, DEFAULT_SEED)
    .option('--end <YYYY-MM>', 'last month of history (default: the last full month before today)', month)
    .addOption(new Option('-f, --format <format>', 'file format').choices(['csv', 'parquet']).default('csv'))
    .addHelpText(
      'after',
      `
The company has enterprise, mid-market, SMB and self-serve segments whose trailing-12-month NRR lands
in their benchmark bands, monthly, annual and multi-year contracts, co-termed seat expansions,
downgrades at renewal, cross-sell, expiring discounts, five currencies with monthly rates, a
usage-billed API product and reactivations. Signal files (product usage, seats, onboarding, meetings,
contacts, tickets, enrichment, opportunities) carry planted, noisy leading indicators of churn and
expansion; docs/data-contract.md describes them.

Examples:
  nrr generate --out demo                                   3,000 accounts, 48 months, CSV
  nrr generate --out demo --seed 7                          again into the same folder: it replaces only its own files
  nrr generate --out big --accounts 1000000 --format parquet
  nrr report --data demo`,
    )
    .action(async (o: { out: string; accounts: number; months: number; seed: number; end?: string; format: 'csv' | 'parquet'; force?: boolean }) => {
      const progress = spinnerProgress();
      const started = performance.now();
      try {
        const { generateCompany } = await import('../generate/generate-company.js');
        const result = await generateCompany({
          out: o.out,
          accounts: o.accounts,
          months: o.months,
          seed: o.seed,
          end: o.end,
          today: today(),
          format: o.format,
          force: o.force,
          onProgress: (label) => progress.step(label),
        });
        progress.done();
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        process.stderr.write(
          `generated ${result.accounts.toLocaleString('en-US')} accounts, ${result.firstMonth} → ${result.lastMonth}, into ${result.out} in ${seconds} s\n`,
        );
        for (const f of result.files) {
          process.stderr.write(`  ${f.file.padEnd(24)} ${f.rows.toLocaleString('en-US').padStart(14)} rows ${(f.bytes / 1e6).toFixed(1).padStart(10)} MB\n`);
        }
        process.stderr.write(`next: nrr report --data ${result.out}\n`);
      } finally {
        progress.done();
      }
    });
}
