import { Command, InvalidArgumentError } from 'commander';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { Driver, Row } from '../drivers/driver.js';
import { DuckDbDriver, type DuckDbOptions } from '../drivers/duckdb-driver.js';
import { monthText } from '../engine/months.js';
import { metrics, type Metrics } from '../queries/metrics-queries.js';
import type { Progress } from '../workspace/progress.js';
import { Workspace } from '../workspace/workspace.js';
import { benchSignalFiles, generateBenchData, LAST_MONTH } from './bench-data.js';
import { spineSteps, sqlLineIdCheck, sqlSingleScan, sqlTypedLoad } from './baselines.js';

/**
 * `npm run bench`: generates contract data, times the engine's pipeline phase by phase with peak
 * RSS, and the same data through two baselines (a single DuckDB scan, and the textbook month spine);
 * then opening with the signal files, against loading every file into typed tables as it is.
 */

const WINDOW = 12;
const SAMPLE_MS = 20;

interface BenchOptions {
  readonly accounts: number;
  readonly months: number;
  readonly seed: number;
  readonly out: string;
  readonly threads?: number;
  /** DuckDB memory_limit for the measured databases, e.g. '3GB'; default DuckDB's (80 % of RAM). */
  readonly memoryLimit?: string;
  readonly json: boolean;
}

type PipelinePhase = 'read' | 'validate' | 'ledger' | 'movements' | 'metrics';

const PHASE_OF_STEP: Record<string, PipelinePhase> = {
  'reading files': 'read',
  validating: 'validate',
  'building the MRR ledger': 'ledger',
  'computing movements': 'movements',
};

/** One timed row of the result. */
interface Timing {
  readonly key: string;
  readonly label: string;
  readonly seconds: number;
  readonly peakRssMb: number;
  /** RSS when the row's work began: what the process held already. */
  readonly startRssMb: number;
}

interface StatementTiming {
  readonly phase: string;
  readonly label: string;
  readonly seconds: number;
}

interface Target {
  readonly name: string;
  readonly target: string;
  readonly actual: string;
  readonly met: boolean;
}

/** Everything a run measured; printed as a table or, with --json, as this object. */
interface BenchResult {
  readonly accounts: number;
  readonly lines: number;
  /** Validation warnings on the generated data (errors would have stopped the run). */
  readonly validationWarnings: number;
  readonly months: number;
  readonly firstMonth: string;
  readonly asOf: string;
  readonly seed: number;
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly duckdbThreads: number;
  readonly duckdbMemoryLimit: string;
  readonly duckdbVersion: string;
  readonly node: string;
  readonly generation: { readonly seconds: number; readonly reused: boolean; readonly dir: string };
  readonly rows: readonly Timing[];
  readonly ratios: {
    /** Opening with the signal files, and its validation alone, ÷ the typed load of every file. */
    readonly openWithSignalsOverTypedLoad: number;
    readonly validateWithSignalsOverTypedLoad: number;
    readonly pipelineOverSingleScan: number;
    readonly spineOverPipelineModel: number;
    readonly spineOverPipelineWhole: number;
  };
  readonly peakRssMb: number;
  readonly engineStatements: readonly StatementTiming[];
  readonly spineSteps: readonly Timing[];
  readonly check: {
    readonly segments: ReadonlyArray<{ segment: string; engineNrr: number | null; spineNrr: number | null; startingAccounts: number }>;
    readonly maxNrrDifference: number;
  };
  readonly targets: readonly Target[];
}

const mb = (bytes: number): number => Math.round(bytes / (1024 * 1024));
const now = (): number => performance.now();
const log = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};
const collectGarbage = (): void => {
  if (typeof gc === 'function') gc();
};

/**
 * Samples RSS every 20 ms and keeps the peak of each key that was active at the sample. DuckDB's
 * memory is native memory of this process, so RSS covers the database as well as JavaScript.
 */
class RssSampler {
  private active: readonly string[] = [];
  private readonly peaks = new Map<string, number>();
  private readonly starts = new Map<string, number>();
  private overall = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Samples now and makes `keys` the keys the next samples count for. */
  enter(keys: readonly string[]): void {
    this.sample();
    this.active = keys;
    const rss = this.sample();
    for (const k of keys) if (!this.starts.has(k)) this.starts.set(k, rss);
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.overall) this.overall = rss;
    for (const k of this.active) if (rss > (this.peaks.get(k) ?? 0)) this.peaks.set(k, rss);
    return rss;
  }

  peakMb(key: string): number {
    return mb(this.peaks.get(key) ?? 0);
  }

  startMb(key: string): number {
    return mb(this.starts.get(key) ?? 0);
  }

  overallMb(): number {
    return mb(this.overall);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** A driver that times every statement the engine runs, by pipeline phase. */
class TimingDriver implements Driver {
  phase = 'open';
  readonly statements: StatementTiming[] = [];

  constructor(private readonly inner: Driver) {}

  get dialect(): Driver['dialect'] {
    return this.inner.dialect;
  }

  async exec(sql: string): Promise<void> {
    const t = now();
    await this.inner.exec(sql);
    this.record(sql, t);
  }

  async query(sql: string): Promise<Row[]> {
    const t = now();
    const rows = await this.inner.query(sql);
    this.record(sql, t);
    return rows;
  }

  close(): void {
    this.inner.close();
  }

  private record(sql: string, t: number): void {
    const created = /CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|VIEW)\s+(\w+)/i.exec(sql);
    const label = created ? `${created[1]!.toLowerCase()} ${created[2]!}` : sql.replace(/\s+/g, ' ').trim().slice(0, 60);
    this.statements.push({ phase: this.phase, label, seconds: (now() - t) / 1000 });
  }
}

function driverOptions(o: BenchOptions): DuckDbOptions {
  return { ...(o.threads ? { threads: o.threads } : {}), ...(o.memoryLimit ? { memoryLimit: o.memoryLimit } : {}) };
}

interface PipelineRun {
  readonly phases: Record<PipelinePhase, number>;
  readonly whole: number;
  readonly lines: number;
  readonly warnings: number;
  readonly metrics: Metrics[];
  readonly statements: StatementTiming[];
  /** The per-product ledger, built after the pipeline as the first per-product question would. */
  readonly productLedger: number;
}

/** Workspace.open then T12M metrics by segment, timed phase by phase through the progress steps. */
async function runPipeline(dir: string, asOf: string, o: BenchOptions, sampler: RssSampler): Promise<PipelineRun> {
  collectGarbage();
  const marks: Array<{ phase: PipelinePhase | 'end'; t: number }> = [];
  const t0 = now();
  sampler.enter(['pipeline', 'read']);
  const driver = new TimingDriver(await DuckDbDriver.open(driverOptions(o)));
  const progress: Progress = {
    step: (label) => {
      const phase = PHASE_OF_STEP[label];
      if (!phase) return;
      marks.push({ phase, t: now() });
      sampler.enter(['pipeline', phase]);
      driver.phase = phase;
      log(`pipeline: ${label}`);
    },
    done: () => {
      marks.push({ phase: 'end', t: now() });
    },
  };
  let ws: Workspace | undefined;
  try {
    ws = await Workspace.open({
      data: dir,
      driver,
      progress,
      policies: { as_of: asOf, snapshot: 'end', fx: 'contract_start', usage: 'include', reporting_currency: 'USD', nrr_method: 'snapshot' },
    });
    const tOpen = now();
    sampler.enter(['pipeline', 'metrics']);
    driver.phase = 'metrics';
    log(`pipeline: T${WINDOW}M metrics by segment`);
    const m = await metrics(ws, { window: WINDOW, by: 'segment' });
    const tEnd = now();
    sampler.enter(['product ledger']);
    driver.phase = 'on first use';
    log('after the pipeline: the per-product ledger, built on first use');
    await ws.ensureProductRanges();
    const productLedger = (now() - tEnd) / 1000;
    sampler.enter([]);
    const at = (p: PipelinePhase): number => {
      const mark = marks.find((x) => x.phase === p);
      if (!mark) throw new Error(`the workspace never reported the step for ${p}`);
      return mark.t;
    };
    const phases: Record<PipelinePhase, number> = {
      // Opening the database counts as reading.
      read: (at('validate') - t0) / 1000,
      validate: (at('ledger') - at('validate')) / 1000,
      ledger: (at('movements') - at('ledger')) / 1000,
      movements: (tOpen - at('movements')) / 1000,
      metrics: (tEnd - tOpen) / 1000,
    };
    return {
      phases,
      whole: (tEnd - t0) / 1000,
      lines: ws.summary.lines,
      warnings: ws.summary.warningCount,
      metrics: m,
      statements: driver.statements,
      productLedger,
    };
  } finally {
    if (ws) ws.close();
    else driver.close();
  }
}

/** The floor: DuckDB reading the subscriptions once with a fresh database. */
async function runSingleScan(
  dir: string,
  o: BenchOptions,
  sampler: RssSampler,
): Promise<{ seconds: number; lineIdCheck: number; threads: number; memoryLimit: string; version: string }> {
  collectGarbage();
  const driver = await DuckDbDriver.open(driverOptions(o));
  try {
    const settings = await driver.query(
      `SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit, version() AS version`,
    );
    sampler.enter(['single scan']);
    const t = now();
    await driver.query(sqlSingleScan(driver.dialect, dir));
    const seconds = (now() - t) / 1000;
    sampler.enter(['line_id check']);
    const t2 = now();
    await driver.query(sqlLineIdCheck(driver.dialect, dir));
    const lineIdCheck = (now() - t2) / 1000;
    sampler.enter([]);
    const s = settings[0]!;
    return { seconds, lineIdCheck, threads: Number(s['threads']), memoryLimit: String(s['memory_limit']), version: String(s['version']) };
  } finally {
    driver.close();
  }
}

interface SignalsRun {
  /** Workspace.open with the signal files, whole. */
  readonly open: number;
  readonly read: number;
  readonly validate: number;
  /** Typed tables, ledger and movements, after the validation. */
  readonly rest: number;
  readonly warnings: number;
  readonly statements: StatementTiming[];
}

/** Workspace.open with every file, signal files included (as the account and validate commands open it). */
async function runOpenWithSignals(dir: string, asOf: string, o: BenchOptions, sampler: RssSampler): Promise<SignalsRun> {
  collectGarbage();
  const marks = new Map<string, number>();
  const t0 = now();
  sampler.enter(['open with signals']);
  const driver = new TimingDriver(await DuckDbDriver.open(driverOptions(o)));
  const progress: Progress = {
    step: (label) => {
      marks.set(label, now());
      if (label === 'validating') sampler.enter(['open with signals', 'signals validate']);
      if (label === 'building the MRR ledger') sampler.enter(['open with signals']);
      driver.phase = `signals: ${PHASE_OF_STEP[label] ?? label}`;
      log(`open with signal files: ${label}`);
    },
    done: () => undefined,
  };
  let ws: Workspace | undefined;
  try {
    ws = await Workspace.open({
      data: dir,
      driver,
      progress,
      signals: true,
      policies: { as_of: asOf, snapshot: 'end', fx: 'contract_start', usage: 'include', reporting_currency: 'USD', nrr_method: 'snapshot' },
    });
    const t1 = now();
    sampler.enter([]);
    const at = (label: string): number => {
      const t = marks.get(label);
      if (t === undefined) throw new Error(`the workspace never reported the step '${label}'`);
      return t;
    };
    return {
      open: (t1 - t0) / 1000,
      read: (at('validating') - t0) / 1000,
      validate: (at('building the MRR ledger') - at('validating')) / 1000,
      rest: (t1 - at('building the MRR ledger')) / 1000,
      warnings: ws.summary.warningCount,
      statements: driver.statements,
    };
  } finally {
    if (ws) ws.close();
    else driver.close();
  }
}

/**
 * The baseline for opening with the signal files: every file of the folder loaded as it is into a
 * table with read_parquet, typed by the file and nothing checked (a fresh database).
 */
async function runTypedLoad(dir: string, o: BenchOptions, sampler: RssSampler): Promise<number> {
  collectGarbage();
  const driver = await DuckDbDriver.open(driverOptions(o));
  try {
    sampler.enter(['typed load']);
    const t = now();
    for (const sql of sqlTypedLoad(driver.dialect, dir, ['subscriptions', 'accounts', 'usage', 'fx_rates', ...benchSignalFiles().map((f) => f.replace(/\.parquet$/, ''))])) {
      await driver.exec(sql);
    }
    const seconds = (now() - t) / 1000;
    sampler.enter([]);
    return seconds;
  } finally {
    driver.close();
  }
}

interface SpineRun {
  readonly steps: Timing[];
  readonly whole: number;
  readonly model: number;
  readonly nrr: Row[];
}

/** The textbook month spine, step by step, each step materialised. */
async function runSpine(dir: string, asOfMonth: number, o: BenchOptions, sampler: RssSampler): Promise<SpineRun> {
  collectGarbage();
  const t0 = now();
  sampler.enter(['spine']);
  const driver = await DuckDbDriver.open(driverOptions(o));
  try {
    const steps: Timing[] = [];
    let model = 0;
    for (const [n, step] of spineSteps(driver.dialect, dir, asOfMonth, WINDOW).entries()) {
      const key = `spine ${n}`;
      log(`month spine: ${step.label}`);
      sampler.enter(['spine', key]);
      const t = now();
      await driver.exec(step.sql);
      const seconds = (now() - t) / 1000;
      if (step.part === 'model') model += seconds;
      steps.push({ key, label: `${step.part === 'read' ? 'read' : 'model'}: ${step.label}`, seconds, peakRssMb: 0, startRssMb: 0 });
    }
    const whole = (now() - t0) / 1000;
    sampler.enter([]);
    const nrr = await driver.query(`SELECT segment, nrr, starting_accounts FROM spine_nrr ORDER BY segment`);
    return {
      steps: steps.map((s) => ({ ...s, peakRssMb: sampler.peakMb(s.key), startRssMb: sampler.startMb(s.key) })),
      whole,
      model,
      nrr,
    };
  } finally {
    driver.close();
  }
}

/** Runs the whole benchmark. */
async function runBench(o: BenchOptions): Promise<BenchResult> {
  const dir = resolve(o.out);
  const data = await generateBenchData({ accounts: o.accounts, months: o.months, seed: o.seed, out: dir, ...(o.threads ? { threads: o.threads } : {}) }, log);
  const asOf = monthText(LAST_MONTH);
  const sampler = new RssSampler();
  try {
    log('baseline: single scan');
    const scan = await runSingleScan(dir, o, sampler);
    const pipeline = await runPipeline(dir, asOf, o, sampler);
    const spine = await runSpine(dir, LAST_MONTH, o, sampler);
    log('open with signal files');
    const signals = await runOpenWithSignals(dir, asOf, o, sampler);
    log('baseline: typed load of every file');
    const typedLoad = await runTypedLoad(dir, o, sampler);
    sampler.stop();

    const p = pipeline.phases;
    const row = (key: string, label: string, seconds: number): Timing => ({
      key,
      label,
      seconds,
      peakRssMb: sampler.peakMb(key),
      startRssMb: sampler.startMb(key),
    });
    const engineModel = p.ledger + p.movements + p.metrics;
    const rows: Timing[] = [
      row('read', 'read', p.read),
      row('validate', 'validate, and value each line', p.validate),
      row('ledger', 'typed tables and MRR ledger', p.ledger),
      row('movements', 'movements', p.movements),
      row('metrics', `T${WINDOW}M metrics by segment`, p.metrics),
      row('pipeline', 'whole pipeline', pipeline.whole),
      {
        key: 'model',
        label: '  of which ledger + movements + metrics',
        seconds: engineModel,
        peakRssMb: Math.max(sampler.peakMb('ledger'), sampler.peakMb('movements'), sampler.peakMb('metrics')),
        startRssMb: sampler.startMb('ledger'),
      },
      row('product ledger', '(after) per-product ledger, on first use', pipeline.productLedger),
      row('single scan', 'baseline single scan', scan.seconds),
      row('line_id check', '  one rule alone: unique line_id', scan.lineIdCheck),
      row('spine', 'baseline month spine', spine.whole),
      {
        key: 'spine model',
        label: '  of which spine, movements, NRR',
        seconds: spine.model,
        peakRssMb: Math.max(0, ...spine.steps.filter((s) => s.label.startsWith('model')).map((s) => s.peakRssMb)),
        startRssMb: spine.steps.find((s) => s.label.startsWith('model'))?.startRssMb ?? 0,
      },
      row('open with signals', 'open with signal files (every file)', signals.open),
      row('signals validate', '  of which validate', signals.validate),
      row('typed load', 'baseline typed load of every file', typedLoad),
    ];
    const ratios = {
      openWithSignalsOverTypedLoad: signals.open / typedLoad,
      validateWithSignalsOverTypedLoad: signals.validate / typedLoad,
      pipelineOverSingleScan: pipeline.whole / scan.seconds,
      spineOverPipelineModel: spine.model / engineModel,
      spineOverPipelineWhole: spine.whole / pipeline.whole,
    };
    const spineNrr = new Map(spine.nrr.map((r) => [String(r['segment']), r['nrr'] === null ? null : Number(r['nrr'])]));
    const segments = pipeline.metrics.map((m) => ({
      segment: m.group ?? 'all',
      engineNrr: m.nrr,
      spineNrr: spineNrr.get(m.group ?? 'all') ?? null,
      startingAccounts: m.starting_accounts,
    }));
    const seen = new Set(segments.map((s) => s.segment));
    for (const [segment, nrr] of spineNrr) if (!seen.has(segment)) segments.push({ segment, engineNrr: null, spineNrr: nrr, startingAccounts: 0 });
    const maxNrrDifference = Math.max(
      0,
      ...segments.map((s) => (s.engineNrr === null || s.spineNrr === null ? Number.POSITIVE_INFINITY : Math.abs(s.engineNrr - s.spineNrr))),
    );
    const pipelinePeak = sampler.peakMb('pipeline');
    const targets: Target[] = [
      { name: 'whole pipeline time', target: '< 60 s', actual: `${pipeline.whole.toFixed(1)} s`, met: pipeline.whole < 60 },
      { name: 'whole pipeline peak RSS', target: '< 4096 MB', actual: `${pipelinePeak} MB`, met: pipelinePeak < 4096 },
      {
        name: 'pipeline ÷ single scan',
        target: '≤ 5×',
        actual: `${ratios.pipelineOverSingleScan.toFixed(1)}×`,
        met: ratios.pipelineOverSingleScan <= 5,
      },
      {
        name: 'month spine ÷ pipeline (whole)',
        target: '≥ 3×',
        actual: `${ratios.spineOverPipelineWhole.toFixed(1)}×`,
        met: ratios.spineOverPipelineWhole >= 3,
      },
    ];
    return {
      accounts: data.accounts,
      lines: pipeline.lines,
      validationWarnings: pipeline.warnings,
      months: data.months,
      firstMonth: data.firstMonth,
      asOf,
      seed: data.seed,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGb: Math.round(totalmem() / 1024 ** 3),
      duckdbThreads: scan.threads,
      duckdbMemoryLimit: scan.memoryLimit,
      duckdbVersion: scan.version,
      node: process.version,
      generation: { seconds: data.seconds, reused: data.reused, dir },
      rows,
      ratios,
      peakRssMb: sampler.overallMb(),
      engineStatements: [...pipeline.statements, ...signals.statements],
      spineSteps: spine.steps,
      check: { segments, maxNrrDifference },
      targets,
    };
  } finally {
    sampler.stop();
  }
}

function pad(cells: readonly string[], widths: readonly number[], alignRight: readonly boolean[]): string {
  return cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
}

function table(header: readonly string[], body: ReadonlyArray<readonly string[]>, alignRight: readonly boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [pad(header, widths, alignRight), rule, ...body.map((r) => pad(r, widths, alignRight))];
}

const times = (x: number): string => `${x.toFixed(1)}×`;

/** The result as aligned plain text. */
function formatBench(r: BenchResult): string {
  const scan = r.rows.find((x) => x.key === 'single scan')!.seconds;
  const spineCol: Record<string, string> = {
    pipeline: times(r.ratios.spineOverPipelineWhole),
    model: times(r.ratios.spineOverPipelineModel),
  };
  const typedLoadCol: Record<string, string> = {
    'open with signals': times(r.ratios.openWithSignalsOverTypedLoad),
    'signals validate': times(r.ratios.validateWithSignalsOverTypedLoad),
    'typed load': '1.0×',
  };
  const main = table(
    ['step', 'seconds', 'peak RSS MB', 'RSS at start MB', '÷ single scan', 'month spine ÷ this', '÷ typed load'],
    r.rows.map((x) => [
      x.label,
      x.seconds.toFixed(2),
      String(x.peakRssMb),
      String(x.startRssMb),
      x.key === 'single scan' ? '1.0×' : times(x.seconds / scan),
      spineCol[x.key] ?? '',
      typedLoadCol[x.key] ?? '',
    ]),
    [false, true, true, true, true, true, true],
  );
  const phaseTotals = new Map<string, number>();
  for (const s of r.engineStatements) phaseTotals.set(s.phase, (phaseTotals.get(s.phase) ?? 0) + s.seconds);
  const engine = table(
    ['phase', 'statement', 'seconds'],
    r.engineStatements.filter((s) => s.seconds >= 0.005 || s.label.startsWith('table')).map((s) => [s.phase, s.label, s.seconds.toFixed(3)]),
    [false, false, true],
  );
  const spine = table(
    ['month spine step', 'seconds', 'peak RSS MB'],
    r.spineSteps.map((s) => [s.label, s.seconds.toFixed(2), String(s.peakRssMb)]),
    [false, true, true],
  );
  const check = table(
    ['segment', 'starting accounts', 'engine NRR', 'spine NRR'],
    r.check.segments.map((s) => [s.segment, String(s.startingAccounts), s.engineNrr?.toFixed(6) ?? '-', s.spineNrr?.toFixed(6) ?? '-']),
    [false, true, true, true],
  );
  const targets = table(
    ['target (set for 1M accounts)', 'target', 'measured', ''],
    r.targets.map((t) => [t.name, t.target, t.actual, t.met ? 'met' : 'MISSED']),
    [false, true, true, false],
  );
  return [
    `NRR Engine benchmark`,
    `accounts ${r.accounts.toLocaleString('en-US')} · lines ${r.lines.toLocaleString('en-US')} · months ${r.months} (${r.firstMonth} to ${r.asOf}, as of ${r.asOf}) · seed ${r.seed}`,
    `machine: ${r.cores} cores (${r.cpu}), ${r.memoryGb} GB · DuckDB ${r.duckdbVersion}, ${r.duckdbThreads} threads, memory_limit ${r.duckdbMemoryLimit} · Node ${r.node}`,
    `data: ${r.generation.dir} (${r.generation.reused ? 'reused' : `generated in ${r.generation.seconds.toFixed(1)} s`}; validation: 0 errors, ${r.validationWarnings} warnings)`,
    '',
    ...main,
    '',
    `open with signal files ÷ typed load of every file: ${times(r.ratios.openWithSignalsOverTypedLoad)} (of which validate ${times(r.ratios.validateWithSignalsOverTypedLoad)})`,
    `pipeline ÷ single scan: ${times(r.ratios.pipelineOverSingleScan)} · month spine ÷ pipeline: ${times(r.ratios.spineOverPipelineModel)} (ledger + movements + metrics), ${times(r.ratios.spineOverPipelineWhole)} (whole) · peak RSS of the run ${r.peakRssMb} MB`,
    '',
    ...targets,
    `(one rule alone, unique line_id over the file's ids, takes ${times(r.rows.find((x) => x.key === 'line_id check')!.seconds / scan)} the single scan)`,
    '',
    ...spine,
    '',
    'engine statements (≥ 5 ms):',
    ...engine,
    '',
    `check: T${WINDOW}M NRR by segment, engine vs month spine (max difference ${r.check.maxNrrDifference.toExponential(2)}):`,
    ...check,
  ].join('\n');
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1`);
    return n;
  };
}

function integer(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('bench')
    .description('Times the NRR engine on generated contract data against a single scan and the textbook month spine.')
    .option('--accounts <n>', 'accounts to generate', positiveInt('--accounts'), 100_000)
    .option('--months <m>', 'months of history', positiveInt('--months'), 48)
    .option('--seed <s>', 'random seed (same seed, same files)', integer, 1)
    .option('--out <dir>', 'folder for the generated Parquet files', 'bench-data/')
    .option('--threads <n>', 'DuckDB threads (default: DuckDB decides, one per core)', positiveInt('--threads'))
    .option('--memory-limit <size>', "DuckDB memory_limit, e.g. 3GB (default: DuckDB's, 80% of RAM)")
    .option('--json', 'print the result as JSON', false)
    .parse([...argv]);
  const opts = program.opts<{
    accounts: number;
    months: number;
    seed: number;
    out: string;
    threads?: number;
    memoryLimit?: string;
    json: boolean;
  }>();
  if (opts.months <= WINDOW) throw new InvalidArgumentError(`--months must be more than ${WINDOW} for T${WINDOW}M metrics`);
  const result = await runBench(opts);
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatBench(result)}\n`);
}

main(process.argv).catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
