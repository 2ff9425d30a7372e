import { DEFAULT_SEED } from './seed.js';
import { createWriteStream, mkdtempSync, renameSync, rmSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { SOURCES, SUGGESTED_ACCOUNT_COLUMNS } from '../contract/data-contract.js';
import { SIGNAL_SOURCES, type SignalColumnType } from '../contract/signal-contract.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { lastFullMonth, monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { simulateAccount, type DemoFile, type DemoRows, type SimulationContext } from './account-simulation.js';
import { Calendar } from './calendar.js';
import { CURRENCIES } from './demo-catalog.js';
import { Random } from './random.js';
import { playbooksSection } from '../workspace/init-workspace.js';
import { CONFIG_FILE_NAME } from '../config/config-file.js';
import { dataFilesIn, foreignFiles, forgetWritten, fsErrorText, prepareDataFolder, recordWritten } from '../workspace/owned-files.js';

/**
 * `nrr generate`: a deterministic synthetic SaaS company in the file data contract, with its signal
 * files. Accounts are simulated one at a time from their own random stream and streamed to disk, so
 * memory stays flat however many there are; Parquet is written by DuckDB from the streamed CSV.
 * The planted causes of churn, contraction and expansion are described in account-simulation.ts.
 */
export interface GenerateOptions {
  readonly out: string;
  /** Default 3,000. */
  readonly accounts?: number;
  /** Months of history, default 48. */
  readonly months?: number;
  /** Default DEFAULT_SEED (2), the demo company. */
  readonly seed?: number;
  /** The last month (YYYY-MM); default the last full month before `today`. */
  readonly end?: string;
  readonly today?: Date;
  readonly format?: 'csv' | 'parquet';
  /** Called as accounts are written and files converted. */
  readonly onProgress?: (label: string) => void;
  /** Replace data files in `out` that nrr did not write (they are refused otherwise). */
  readonly force?: boolean;
}

export interface GeneratedFile {
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface GenerateResult {
  readonly out: string;
  readonly accounts: number;
  readonly firstMonth: string;
  readonly lastMonth: string;
  readonly files: readonly GeneratedFile[];
}

/** The seed of the demo company: its segments land in their benchmark bands at the default size. */
export { DEFAULT_SEED };

/** Months of exchange rates before the data's first month (the loop below gives the month just before). */
const FX_MONTHS_BEFORE = 6;

const FILES: readonly DemoFile[] = [
  'subscriptions',
  'accounts',
  'usage',
  'product_usage',
  'seats',
  'onboarding',
  'meetings',
  'contacts',
  'tickets',
  'enrichment',
  'opportunities',
];

/** The accounts file's columns: the id, then the attributes reports can group by. */
export const DEMO_ACCOUNT_COLUMNS = SUGGESTED_ACCOUNT_COLUMNS;

function header(file: DemoFile | 'fx_rates'): readonly string[] {
  if (file === 'accounts') return DEMO_ACCOUNT_COLUMNS;
  if (file in SOURCES) return SOURCES[file as keyof typeof SOURCES].columns.map((c) => c.name);
  return SIGNAL_SOURCES[file as keyof typeof SIGNAL_SOURCES].columns.map((c) => c.name);
}

/** Parquet column types: dates, counts and money typed, everything else text. */
function parquetType(file: DemoFile | 'fx_rates', column: string): string {
  const revenue: Record<string, string> = {
    'subscriptions.start_date': 'DATE',
    'subscriptions.end_date': 'DATE',
    'subscriptions.amount': 'DECIMAL(18,2)',
    'subscriptions.discount': 'DECIMAL(18,2)',
    'usage.amount': 'DECIMAL(18,2)',
    'fx_rates.rate': 'DECIMAL(18,8)',
    'accounts.icp_fit': 'INTEGER',
    'accounts.signup_date': 'DATE',
  };
  const known = revenue[`${file}.${column}`];
  if (known) return known;
  const spec = SIGNAL_SOURCES[file as keyof typeof SIGNAL_SOURCES]?.columns.find((c) => c.name === column);
  const bySignalType: Record<SignalColumnType, string> = {
    text: 'VARCHAR',
    date: 'DATE',
    month: 'VARCHAR',
    count: 'BIGINT',
    amount: 'DECIMAL(18,2)',
    score: 'INTEGER',
    boolean: 'BOOLEAN',
    currency: 'VARCHAR',
  };
  return spec ? bySignalType[spec.type] : 'VARCHAR';
}

/** Writes lines to a file stream, waiting when the stream's buffer is full; a write error (a full disk) fails the next call. */
class LineSink {
  private readonly stream: WriteStream;
  private error: Error | null = null;
  rows = 0;

  constructor(readonly path: string, header: readonly string[]) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (e) => (this.error ??= e));
    this.stream.write(header.join(',') + '\n');
  }

  async write(lines: readonly string[]): Promise<void> {
    if (this.error) throw this.error;
    if (lines.length === 0) return;
    this.rows += lines.length;
    if (!this.stream.write(lines.join('\n') + '\n')) {
      await new Promise<void>((resolve) => {
        // Whichever comes first ends the wait and takes the other listener away, so that a long
        // file does not pile up one listener per full buffer.
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.once('drain', done);
        this.stream.once('error', done);
      });
    }
    if (this.error) throw this.error;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.stream.once('error', reject);
      this.stream.end(() => (this.error ? reject(this.error) : resolve()));
    });
  }

  /** Stops writing after a failure elsewhere. */
  destroy(): void {
    this.stream.destroy();
  }
}

const emptyRows = (): DemoRows => Object.fromEntries(FILES.map((f) => [f, []])) as unknown as DemoRows;

/**
 * Generates the demo company into `out`.
 * @example await generateCompany({ out: 'demo', accounts: 3000, seed: 1 })
 */
export async function generateCompany(options: GenerateOptions): Promise<GenerateResult> {
  const accounts = options.accounts ?? 3000;
  const months = options.months ?? 48;
  const seed = options.seed ?? DEFAULT_SEED;
  const format = options.format ?? 'csv';
  if (!Number.isInteger(accounts) || accounts < 1) throw new NrrError(`--accounts: expected a whole number of 1 or more, got ${accounts}`);
  if (!Number.isInteger(months) || months < 13 || months > 240) throw new NrrError(`--months: expected a whole number from 13 to 240, got ${months}`);
  if (!Number.isInteger(seed)) throw new NrrError(`--seed: expected a whole number, got ${seed}`);
  const lastMonth = options.end ? monthIndex(options.end) : lastFullMonth(options.today ?? new Date());
  const firstMonth = lastMonth - months + 1;
  const cal = new Calendar(firstMonth, lastMonth);

  prepareDataFolder(options.out, { force: options.force, forceDoes: 'generate over them' });
  // Every file is made in a hidden folder inside `out`, then moved into place once all are complete:
  // a failure (a full disk) leaves the folder as it was.
  let staging: string;
  try {
    staging = mkdtempSync(join(options.out, '.nrr-generate-'));
  } catch (e) {
    throw new NrrError(`cannot write into ${options.out}: ${fsErrorText(e)}`);
  }
  try {
    return await generateInto(options, staging, { accounts, months, seed, format, firstMonth, lastMonth, cal });
  } catch (e) {
    if (e instanceof NrrError) throw e;
    throw new NrrError(`cannot generate into ${options.out}: ${fsErrorText(e)}; the folder was left as it was`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

interface Plan {
  readonly accounts: number;
  readonly months: number;
  readonly seed: number;
  readonly format: 'csv' | 'parquet';
  readonly firstMonth: number;
  readonly lastMonth: number;
  readonly cal: Calendar;
}

async function generateInto(options: GenerateOptions, staging: string, plan: Plan): Promise<GenerateResult> {
  const { accounts, months, seed, format, firstMonth, lastMonth, cal } = plan;
  // Exchange rates: a random walk per currency, one rate a month (USD per unit). The starting rate
  // is also given for the months before the data, so that an opportunity opened before the first
  // contract (up to four months ahead) has a rate.
  const fxRandom = new Random(seed, 0);
  const perUsd = new Map<string, number[]>();
  const fxLines: string[] = [];
  for (const [code, start, volatility] of CURRENCIES) {
    const path: number[] = [];
    let x = start;
    for (let m = firstMonth - FX_MONTHS_BEFORE; m < firstMonth - 1; m++) fxLines.push(`${code},${monthText(m)},${(1 / x).toFixed(6)}`);
    for (let m = firstMonth - 1; m <= lastMonth; m++) {
      path.push(x);
      fxLines.push(`${code},${monthText(m)},${(1 / x).toFixed(6)}`);
      x *= Math.exp(fxRandom.normal(0, volatility) + 0.1 * Math.log(start / x));
    }
    perUsd.set(code, path);
  }
  // Signups grow 3.5 % a month, as a young company's do.
  const weights: number[] = [];
  for (let i = 0; i < months; i++) weights.push(Math.pow(1.035, i));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  const signupCdf = weights.map((w) => (acc += w / total));
  const ctx: SimulationContext = {
    seed,
    cal,
    signupCdf,
    perUsd: (code, m) => (code === 'USD' ? 1 : perUsd.get(code)![Math.min(Math.max(m - firstMonth + 1, 0), months)]!),
  };

  const sinks = new Map<DemoFile | 'fx_rates', LineSink>();
  for (const f of [...FILES, 'fx_rates'] as const) sinks.set(f, new LineSink(join(staging, `${f}.csv`), header(f)));
  try {
    await sinks.get('fx_rates')!.write(fxLines);
    const chunk = 200;
    for (let start = 0; start < accounts; start += chunk) {
      const rows = emptyRows();
      for (let i = start; i < Math.min(accounts, start + chunk); i++) simulateAccount(ctx, i, rows);
      for (const f of FILES) await sinks.get(f)!.write(rows[f]);
      options.onProgress?.(`generating accounts: ${Math.min(accounts, start + chunk).toLocaleString('en-US')} of ${accounts.toLocaleString('en-US')}`);
    }
    for (const s of sinks.values()) await s.close();
  } catch (e) {
    for (const s of sinks.values()) s.destroy();
    throw e;
  }

  const files: GeneratedFile[] = [];
  if (format === 'parquet') {
    const driver = await DuckDbDriver.open({ memoryLimit: '2GB' });
    try {
      for (const [f, sink] of sinks) {
        options.onProgress?.(`writing ${f}.parquet`);
        const target = join(staging, `${f}.parquet`);
        const cols = header(f)
          .map((c) => `CAST(${driver.dialect.quoteIdent(c)} AS ${parquetType(f, c)}) AS ${driver.dialect.quoteIdent(c)}`)
          .join(', ');
        await driver.exec(
          `COPY (SELECT ${cols} FROM read_csv(${driver.dialect.quoteString(sink.path)}, header = true, all_varchar = true)) TO ${driver.dialect.quoteString(target)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        rmSync(sink.path);
        files.push({ file: `${f}.parquet`, rows: sink.rows, bytes: statSync(target).size });
      }
    } finally {
      driver.close();
    }
  } else {
    for (const [f, sink] of sinks) files.push({ file: `${f}.csv`, rows: sink.rows, bytes: statSync(sink.path).size });
  }
  writeFileSync(join(staging, CONFIG_FILE_NAME), demoConfig(seed, accounts, months, monthText(lastMonth)));
  const names = [...files.map((f) => f.file), CONFIG_FILE_NAME];
  // Files of another format that an earlier generate wrote would be read beside the new ones.
  const stale = dataFilesIn(options.out).filter((n) => !names.includes(n) && foreignFiles(options.out, [n]).length === 0);
  for (const n of names) renameSync(join(staging, n), join(options.out, n));
  for (const n of stale) rmSync(join(options.out, n), { force: true });
  forgetWritten(options.out, stale);
  recordWritten(options.out, names);
  return { out: options.out, accounts, firstMonth: monthText(firstMonth), lastMonth: monthText(lastMonth), files };
}

function demoConfig(seed: number, accounts: number, months: number, end: string): string {
  return `# The demo company's workspace config (written by nrr generate --seed ${seed} --accounts ${accounts} --months ${months} --end ${end}).
# Every policy not listed here takes its default; see docs/definitions.md.
version: 1
policies:
  reporting_currency: USD
  # Expansion concentrated in one owner is checked against the account managers.
  owner_attribute: am_owner

# Groups are compared with the benchmark of their median ACV; self-serve is sold product-led, which
# no ACV says, so it is named here (docs/definitions.md, Plausibility diagnostics).
benchmark:
  segment: { self-serve: product-led }

${playbooksSection(['outbox']).join('\n')}

# Tasks and fired events live in demo/.nrr/state.duckdb; every entry and exit is also appended to
# demo/outbox/tasks.jsonl (nrr playbooks run --data demo).
playbook_settings:
  daily_budget_per_owner: 15
  destinations:
    outbox: { type: outbox, file: outbox/tasks.jsonl }
`;
}
