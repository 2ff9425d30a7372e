import { InvalidArgumentError, Option, type Command } from 'commander';
import type { PolicyInput } from '../config/policies.js';
import { monthEndedBy, monthIndex, monthText } from '../engine/months.js';
import { hasFilter } from '../engine/account-filter.js';
import { NrrError } from '../errors.js';
import { formatIssue } from '../workspace/validation-report.js';
import { Workspace, dateNotes, type OpenOptions } from '../workspace/workspace.js';
import { plural } from './plural-text.js';
import { spinnerProgress } from './spinner-progress.js';
import type { WhereOptions } from './where-option.js';
import { openInWarehouseStore } from './warehouse-store-option.js';

/** The data-folder options every command that reads data shares, and opening a workspace from them. */
export interface CommonOptions {
  data: string;
  config?: string;
  asOf?: string;
  snapshot?: 'end' | 'start';
  usage?: 'include' | 'exclude';
  fx?: 'contract_start' | 'monthly';
  currency?: string;
  reactivationWindow?: number;
  skipInvalid?: boolean;
  rejects?: string;
  force?: boolean;
  quiet?: boolean;
  allowPartial?: boolean;
  /** --no-store: compute in memory from the files alone; a URL (--store on some commands): compute in that warehouse. */
  store?: boolean | string;
  /** --no-sync: answer from the store as it is, without reading the files. */
  sync?: boolean;
  /** -o: the output to a file (commands that take it). */
  out?: string;
}

export const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
};
export const month = (v: string): string => {
  try {
    monthIndex(v);
  } catch {
    throw new InvalidArgumentError('expected a month as YYYY-MM');
  }
  return v;
};

/** Whether `v` is a day of the calendar as YYYY-MM-DD (Date.parse takes 2024-02-30 as 1 March). */
export const isCalendarDay = (v: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) && new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v;

/** A month, or (for commands that work on a day) a date. */
export const monthOrDate = (v: string): string => {
  if (isCalendarDay(v)) return v;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new InvalidArgumentError(`expected a day of the calendar as YYYY-MM-DD, got '${v}'`);
  return month(v);
};

/**
 * Options every command that reads data shares; `asOfDate` lets --as-of take a day as well as a
 * month; `policies: false` leaves out the flags that only change how MRR is computed (--snapshot,
 * --usage, --fx, --reactivation-window), for commands that compute none (validate).
 */
export function withDataOptions(cmd: Command, opts: { asOfDate?: boolean; policies?: boolean } = {}): Command {
  const asOf = opts.asOfDate
    ? new Option('--as-of <date>', "the day to look from, YYYY-MM-DD (or YYYY-MM for the month's last day); default: today").argParser(monthOrDate)
    : new Option('--as-of <YYYY-MM>', 'last month to report (default: the last full month before today)').argParser(month);
  cmd
    .option('-d, --data <dir>', 'data folder holding subscriptions, accounts, usage, fx_rates (see docs/data-contract.md)', '.')
    .option('-c, --config <file>', 'workspace config (default: nrr.config.yaml in the data folder or the current folder)')
    .addOption(asOf);
  if (opts.policies !== false) {
    cmd
      .addOption(new Option('--snapshot <when>', "a month's MRR is what is in force at its end or its start").choices(['end', 'start']))
      .addOption(new Option('--usage <policy>', 'count usage charges in MRR or not').choices(['include', 'exclude']))
      .addOption(new Option('--fx <policy>', 'convert at the rate when a line starts, or each month').choices(['contract_start', 'monthly']));
  }
  cmd.option('--currency <code>', 'reporting currency (ISO code)');
  if (opts.policies !== false) cmd.option('--reactivation-window <months>', 'a return after more months at zero than this counts as new', positiveInt);
  return cmd
    .option('--skip-invalid', 'set invalid rows aside in a rejects file and compute on the rest')
    .option('--rejects <file>', 'where --skip-invalid writes rejected rows (default: rejected.csv in the data folder)')
    .option('--force', 'replace an output file (--rejects, -o) that nrr did not write')
    .option('-q, --quiet', 'do not print what was read')
    .option('--allow-partial', 'accept a month that is not over yet; every output marks it partial')
    .option('--no-store', 'compute in memory from the files alone, without the workspace store (docs/store.md)')
    .option('--no-sync', 'answer from the workspace store as it is, without checking the files for changes');
}

/**
 * Today: the NRR_TODAY environment variable (YYYY-MM-DD) when set, so that scripts and tests can
 * pin the day; else the clock.
 */
export function today(): Date {
  const pinned = process.env['NRR_TODAY'];
  if (!pinned) return new Date();
  if (!isCalendarDay(pinned)) {
    throw new NrrError(`NRR_TODAY: not a date: '${pinned}' (expected YYYY-MM-DD)`);
  }
  return new Date(`${pinned}T00:00:00Z`);
}

/** A day given to --as-of (not a month). */
const isDay = (v: string | undefined): v is string => v !== undefined && v.length === 10;

export function policiesFrom(o: CommonOptions & { method?: PolicyInput['nrr_method'] }): PolicyInput {
  return {
    // A day pins live views; the months it reports are those over by its end.
    as_of: isDay(o.asOf) ? monthText(monthEndedBy(o.asOf)) : o.asOf,
    snapshot: o.snapshot,
    usage: o.usage,
    fx: o.fx,
    reporting_currency: o.currency?.toUpperCase(),
    reactivation_window_months: o.reactivationWindow,
    nrr_method: o.method,
  };
}

/** The OpenOptions the flags of a command ask for. */
export function openOptions(o: CommonOptions & { method?: PolicyInput['nrr_method'] }, extra: Partial<OpenOptions> = {}): OpenOptions {
  return {
    ...extra,
    data: o.data,
    config: o.config,
    policies: policiesFrom(o),
    skipInvalid: o.skipInvalid,
    rejectsFile: o.rejects,
    today: today(),
    day: isDay(o.asOf) ? o.asOf : undefined,
    allowPartial: o.allowPartial,
    force: o.force,
    progress: spinnerProgress(),
    store: o.store === false ? false : { ...(extra.store || {}), sync: o.sync !== false },
  };
}

export async function open(
  o: CommonOptions & { method?: PolicyInput['nrr_method'] },
  extra: Partial<OpenOptions> = {},
  /** Whether a workspace without contract lines is opened (validate) rather than refused. */
  emptyOk = false,
  /** With --store URL: whether the workspace store is kept there (false: the model is built there for this run alone). */
  keepStore = true,
): Promise<Workspace> {
  const ws =
    typeof o.store === 'string'
      ? await openInWarehouseStore(o.store, openOptions({ ...o, store: true }, extra), keepStore)
      : await Workspace.open(openOptions(o, extra));
  if (ws.summary.lines === 0 && !emptyOk) {
    ws.close();
    throw new NrrError(noLinesYet(o.data));
  }
  if (!o.quiet) printRead(ws);
  printDateWarnings(ws);
  return ws;
}

/** What an empty workspace (right after `nrr init`) is told instead of a report of zeros. */
export function noLinesYet(dir: string): string {
  return (
    `no contract lines yet in ${dir}: subscriptions.csv has no rows.\n` +
    `next: put your contract lines into subscriptions.csv (columns: docs/data-contract.md), then run\n` +
    `  nrr validate --data ${dir}\n  nrr report --data ${dir}\n` +
    `or try the demo company: nrr demo`
  );
}

export function printRead(ws: Workspace): void {
  const s = ws.summary;
  const err = process.stderr;
  err.write(
    `read ${s.sources.map((x) => `${x.file} ${plural(x.rows, 'row')}${x.rejected ? ` (${x.rejected} rejected → ${s.rejectsFile})` : ''}`).join(', ')}\n` +
      `     ${plural(s.accounts, 'account')}, ${plural(s.lines, 'line')}, ${s.firstDate ?? '—'} → ${s.lastDate ?? '—'}, currencies ${s.currencies.join(', ') || '—'}, reporting month ${s.asOf}` +
      `${s.configFile ? `, config ${s.configFile}` : ''}\n`,
  );

  for (const w of s.warnings) err.write(`warning: ${w.row > 0 ? formatIssue(w) : `${w.file}: ${w.column}: expected ${w.expected}`}\n`);
  if (s.warningCount > s.warnings.filter((w) => w.row > 0).length) {
    err.write(`warning: … ${s.warningCount - s.warnings.filter((w) => w.row > 0).length} more warnings\n`);
  }
}

/** A partial reporting month and a stale-looking export are said even with --quiet. */
export function printDateWarnings(ws: Workspace): void {
  for (const note of dateNotes(ws.summary)) process.stderr.write(`warning: ${note}\n`);
}

export async function withWorkspace(o: CommonOptions & WhereOptions & { method?: PolicyInput['nrr_method'] }, f: (ws: Workspace) => Promise<void>, signals = false): Promise<void> {
  const ws = await open(o, signals ? { signals: true } : {});
  try {
    // A --where that keeps no account is said (with the values there are) before the empty answer.
    if (hasFilter(o.where)) {
      const { unmatchedFilterNote } = await import('../queries/attribute-queries.js');
      const note = await unmatchedFilterNote(ws, o.where);
      if (note !== null) process.stderr.write(`warning: ${note}\n`);
    }
    await f(ws);
  } finally {
    ws.close();
  }
}


/** `-o, --out FILE`: the output to a file instead of standard output (see writeOutput). */
export const outOption = (): Option => new Option('-o, --out <file>', 'write to a file instead of standard output');
