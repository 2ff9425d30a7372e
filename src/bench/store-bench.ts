import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { generateCompany } from '../generate/generate-company.js';
import { movements } from '../queries/ledger-queries.js';
import { LiveWorkspace } from '../store/live-workspace.js';

/**
 * `npm run bench` (second part): the workspace store on a generated company with its signal files
 * (Parquet): a cold `nrr sync`, warm commands as whole processes, 1,000 ingested changes, and the
 * server on a synced store, each with its peak memory; ratios against the floor measured in the
 * same run on the same files (every file loaded into typed tables) and against `--no-store`.
 */

const CLI = fileURLToPath(new URL('../cli/nrr.js', import.meta.url));
const TOKEN = 'bench-token-0123456789abcdef';

interface Row {
  readonly label: string;
  readonly seconds: number | null;
  readonly peakMb: number | null;
  readonly note: string;
}

interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

const log = (msg: string): void => {
  process.stderr.write(`[store-bench] ${msg}\n`);
};

/** Runs the CLI as its own process; wall time and the process's peak RSS (reported by the process itself at exit). */
async function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ seconds: number; peakMb: number | null; status: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nrr-bench-rss-'));
  const rssFile = join(dir, 'rss');
  const preload = join(dir, 'rss.cjs');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--require', preload, CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const status = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const peakMb = existsSync(rssFile) ? Math.round(Number(readFileSync(rssFile, 'utf8')) / 1024) : null;
  rmSync(dir, { recursive: true, force: true });
  return { seconds, peakMb, status, stderr };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function floorLoad(dir: string): Promise<number> {
  const driver = await DuckDbDriver.open();
  try {
    const files = (await driver.query(`SELECT file FROM glob(${driver.dialect.quoteString(join(dir, '*.parquet'))})`)).map((r) => String(r['file']));
    const started = performance.now();
    for (const [i, f] of files.entries()) await driver.exec(`CREATE TABLE t${i} AS SELECT * FROM read_parquet(${driver.dialect.quoteString(f)})`);
    return (performance.now() - started) / 1000;
  } finally {
    driver.close();
  }
}

export async function runStoreBench(o: { accounts: number; seed: number; out: string; timeoutS: number; slow: boolean; changes: number; plays: number }): Promise<{ rows: Row[]; targets: Target[] }> {
  const dir = resolve(o.out, `store-${o.accounts}-${o.seed}`);
  const end = '2026-06';
  const env: NodeJS.ProcessEnv = { ...process.env, NRR_TODAY: '2026-07-01' };
  delete env['NRR_API_TOKEN'];
  const timeout = o.timeoutS * 1000;
  if (!existsSync(join(dir, 'subscriptions.parquet'))) {
    log(`generating ${o.accounts.toLocaleString('en-US')} accounts with their signal files into ${dir}`);
    await generateCompany({ out: dir, accounts: o.accounts, seed: o.seed, end, format: 'parquet', force: true, onProgress: (l) => log(l) });
  }
  const rows: Row[] = [];
  const fail = (label: string, r: { status: number | null; stderr: string }): never => {
    throw new Error(`${label} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  };
  log('floor: every file into typed tables');
  const floor = await floorLoad(dir);
  rows.push({ label: 'floor: load every file into typed tables (in process)', seconds: floor, peakMb: null, note: '' });

  const metricsArgs = ['metrics', '--data', dir, '--window', '12', '--by', 'segment', '-q', '--format', 'json'];
  log('metrics --no-store');
  const noStore = await runCli([...metricsArgs, '--no-store'], env, timeout);
  if (noStore.status !== 0) fail('metrics --no-store', noStore);
  rows.push({ label: 'nrr metrics --no-store (reads every file)', seconds: noStore.seconds, peakMb: noStore.peakMb, note: 'as before the store' });

  rmSync(join(dir, '.nrr'), { recursive: true, force: true });
  log('cold nrr sync');
  const cold = await runCli(['sync', '--data', dir, '-q'], env, timeout);
  if (cold.status !== 0) fail('nrr sync', cold);
  rows.push({ label: 'cold nrr sync (every file, signals included)', seconds: cold.seconds, peakMb: cold.peakMb, note: `${(cold.seconds / floor).toFixed(1)}× the floor` });

  log('warm metrics');
  const warm: { seconds: number; peakMb: number | null }[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await runCli(metricsArgs, env, timeout);
    if (r.status !== 0) fail('metrics', r);
    warm.push(r);
  }
  const warmS = median(warm.map((r) => r.seconds));
  rows.push({ label: 'warm nrr metrics --window 12 --by segment (process)', seconds: warmS, peakMb: Math.max(...warm.map((r) => r.peakMb ?? 0)), note: `${(warmS / cold.seconds).toFixed(3)}× cold sync; ${(noStore.seconds / warmS).toFixed(0)}× faster than --no-store` });

  log('warm account');
  const account = 'A0000042';
  const acc: number[] = [];
  let accPeak = 0;
  for (let i = 0; i < 3; i++) {
    const r = await runCli(['account', account, '--data', dir, '-q', '--format', 'json'], env, timeout);
    if (r.status !== 0) fail('account', r);
    acc.push(r.seconds);
    accPeak = Math.max(accPeak, r.peakMb ?? 0);
  }
  rows.push({ label: `warm nrr account ${account} (process)`, seconds: median(acc), peakMb: accPeak, note: '' });

  log(`${o.changes.toLocaleString('en-US')} ingested changes`);
  const changes = await timeChanges(dir, o.accounts, 0, o.changes);
  rows.push({ label: `one ingested change (line, ended line, ticket, usage), ${o.changes.toLocaleString('en-US')} of them`, seconds: changes.p50 / 1000, peakMb: null, note: `p50 ${changes.p50.toFixed(0)} ms, p99 ${changes.p99.toFixed(0)} ms` });
  let withPlays: { p50: number; p99: number } | null = null;
  if (o.plays > 0) {
    // The plays: a first run for every account creates the play state; after it, every change evaluates its accounts' plays.
    log('nrr playbooks run (every account, once)');
    const run = await runCli(['playbooks', 'run', '--data', dir, '-q', '--format', 'json'], env, timeout);
    if (run.status !== 0) fail('playbooks run', run);
    rows.push({ label: 'nrr playbooks run (every account)', seconds: run.seconds, peakMb: run.peakMb, note: 'creates the play state' });
    log(`${o.plays.toLocaleString('en-US')} ingested changes with their plays`);
    withPlays = await timeChanges(dir, o.accounts, o.changes, o.plays);
    rows.push({ label: `one ingested change with its accounts' plays, ${o.plays.toLocaleString('en-US')} of them`, seconds: withPlays.p50 / 1000, peakMb: null, note: `p50 ${withPlays.p50.toFixed(0)} ms, p99 ${withPlays.p99.toFixed(0)} ms` });
  }
  const p50 = withPlays?.p50 ?? changes.p50;
  const p99 = withPlays?.p99 ?? changes.p99;

  log('serve');
  const serve = await serveTimings(dir, env, account);
  rows.push({ label: 'nrr serve: start to first /api/metrics answer', seconds: serve.firstAnswerS, peakMb: null, note: '' });
  rows.push({ label: '/api/accounts/:id (50 requests) while every account is scored', seconds: serve.accountP50Ms / 1000, peakMb: null, note: `p50 ${serve.accountP50Ms.toFixed(0)} ms` });
  rows.push({ label: 'nrr serve: every account scored (from the start)', seconds: serve.scoredAfterS, peakMb: null, note: '' });
  rows.push({ label: '/api/accounts/:id (50 requests) once they are', seconds: serve.scoredP50Ms / 1000, peakMb: null, note: `p50 ${serve.scoredP50Ms.toFixed(0)} ms` });
  // Started again on the same store: every account's scores are read back from where the first server kept them.
  log('serve again');
  const again = await serveTimings(dir, env, account, true);
  rows.push({ label: 'nrr serve started again: first /api/metrics answer', seconds: again.firstAnswerS, peakMb: null, note: '' });
  rows.push({ label: 'nrr serve started again: every account scored (kept)', seconds: again.scoredAfterS, peakMb: null, note: 'from the start, to the first /api/accounts answer' });
  rows.push({ label: '/api/accounts/:id (50 requests) then', seconds: again.accountP50Ms / 1000, peakMb: null, note: `p50 ${again.accountP50Ms.toFixed(0)} ms` });

  let slowRows: Row[] = [];
  if (o.slow) {
    slowRows = [];
    // The servers above kept every account's scores for the day: without them, `nrr accounts` scores every account, as the target means.
    const answers = join(dir, '.nrr', 'answers');
    for (const f of existsSync(answers) ? readdirSync(answers) : []) if (f.startsWith('scores-')) rmSync(join(answers, f), { force: true });
    const accountsArgs = ['accounts', '--data', dir, '-q', '--format', 'csv', '-o', join(tmpdir(), `nrr-bench-accounts-${process.pid}.csv`), '--force'];
    for (const [label, args] of [
      ['nrr accounts --format csv (every account)', accountsArgs],
      ['nrr accounts --format csv again (scores, probabilities kept)', accountsArgs],
      ['nrr health validate', ['health', 'validate', '--data', dir, '-q', '--format', 'json']],
      ['nrr playbooks backtest', ['playbooks', 'backtest', '--data', dir, '-q', '--format', 'json']],
    ] as const) {
      log(label);
      const r = await runCli(args, env, timeout);
      slowRows.push({ label, seconds: r.status === 0 ? r.seconds : null, peakMb: r.peakMb, note: r.status === 0 ? '' : r.status === null ? `stopped after ${o.timeoutS} s` : `failed (exit ${r.status})` });
    }
    rows.push(...slowRows);
  }
  const peak = Math.max(...rows.map((r) => r.peakMb ?? 0));
  const secondsOf = (label: string): number | null => slowRows.find((r) => r.label === label)?.seconds ?? null;
  const targets: Target[] = [
    { name: 'cold nrr sync', target: '≤ 60 s, ≤ 4 GB', measured: `${cold.seconds.toFixed(1)} s, ${cold.peakMb} MB`, met: cold.seconds <= 60 && (cold.peakMb ?? 0) <= 4096 },
    { name: 'warm metrics (whole process)', target: '≤ 1 s and ≤ 0.1× cold', measured: `${warmS.toFixed(2)} s, ${(warmS / cold.seconds).toFixed(3)}×`, met: warmS <= 1 && warmS <= 0.1 * cold.seconds },
    { name: 'warm nrr account ID', target: '≤ 0.5 s', measured: `${median(acc).toFixed(2)} s`, met: median(acc) <= 0.5 },
    { name: withPlays ? 'ingested change with plays' : 'ingested change (no play state)', target: 'p50 ≤ 20 ms, p99 ≤ 100 ms', measured: `p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`, met: p50 <= 20 && p99 <= 100 },
    { name: 'serve first answer', target: '≤ 1 s', measured: `${serve.firstAnswerS.toFixed(2)} s`, met: serve.firstAnswerS <= 1 },
    { name: '/api/accounts/:id', target: 'p50 ≤ 20 ms', measured: `${serve.accountP50Ms.toFixed(0)} ms, then ${serve.scoredP50Ms.toFixed(0)} ms`, met: Math.max(serve.accountP50Ms, serve.scoredP50Ms) <= 20 },
    ...(o.slow
      ? [
          { name: 'accounts csv, all', target: '≤ 30 s', measured: fmt(secondsOf('nrr accounts --format csv (every account)')), met: (secondsOf('nrr accounts --format csv (every account)') ?? Infinity) <= 30 },
          { name: 'health validate', target: '≤ 120 s', measured: fmt(secondsOf('nrr health validate')), met: (secondsOf('nrr health validate') ?? Infinity) <= 120 },
          { name: 'playbooks backtest', target: '≤ 120 s', measured: fmt(secondsOf('nrr playbooks backtest')), met: (secondsOf('nrr playbooks backtest') ?? Infinity) <= 120 },
        ]
      : []),
    { name: 'peak memory of any command', target: '≤ 4 GB', measured: `${peak} MB`, met: peak <= 4096 },
  ];
  return { rows, targets };
}

/**
 * Applies `count` changes through a live workspace (a new line, an ended line, a ticket, a usage
 * charge, in turn; numbered from `from`) and times each; checks the last new line shows in its
 * account's movements.
 */
async function timeChanges(dir: string, accounts: number, from: number, count: number): Promise<{ p50: number; p99: number }> {
  const live = await LiveWorkspace.open({ data: dir, signals: true, today: new Date('2026-07-01T00:00:00Z') });
  const latencies: number[] = [];
  const accountOf = (i: number): string => `A${String((i * 7919) % accounts).padStart(7, '0')}`;
  let lastNew = -1;
  try {
    const lines = await live.workspace.query(`SELECT line_id, account_id, product, CAST(start_date AS VARCHAR) AS s, CAST(amount AS VARCHAR) AS a, interval_months FROM lines WHERE end_date IS NULL AND interval_months = 1 AND start_date < DATE '2026-06-01' ORDER BY line_id LIMIT 300`);
    for (let i = from; i < from + count; i++) {
      const a = accountOf(i);
      const kind = i % 4;
      if (kind === 0) lastNew = i;
      const batch =
        kind === 0
          ? { source: 'subscriptions', rows: [{ account_id: a, line_id: `BENCH-L${i}`, product: 'bench', start_date: '2026-05-01', amount: '100.50', interval: 'monthly', currency: 'USD' }] }
          : kind === 1
            ? (() => {
                const l = lines[i % lines.length]!;
                return { source: 'subscriptions', rows: [{ account_id: l['account_id'], line_id: l['line_id'], product: l['product'], start_date: l['s'], end_date: '2026-06-15', amount: l['a'], interval: 'monthly', currency: 'USD' }] };
              })()
            : kind === 2
              ? { source: 'tickets', rows: [{ ticket_id: `BENCH-T${i}`, account_id: a, opened_date: '2026-06-20', priority: 'high', escalated: 'false' }] }
              : { source: 'usage', rows: [{ account_id: a, product: 'bench-usage', month: '2026-06', amount: '12.34', currency: 'USD' }] };
      const started = performance.now();
      await live.apply(batch);
      latencies.push(performance.now() - started);
    }
    if (lastNew >= 0) {
      const moved = await movements(live.workspace, { account: accountOf(lastNew) });
      if (!moved.some((m) => m.month === '2026-05')) log(`warning: the ingested line BENCH-L${lastNew} does not show in its account's movements`);
    }
  } finally {
    live.close();
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const fmt = (s: number | null): string => (s === null ? 'did not finish' : `${s.toFixed(1)} s`);

async function serveTimings(
  dir: string,
  env: NodeJS.ProcessEnv,
  account: string,
  /** Ask for the accounts list first (when the scores are kept, it does not wait for scoring), then the account pages. */
  listFirst = false,
): Promise<{ firstAnswerS: number; accountP50Ms: number; scoredAfterS: number; scoredP50Ms: number }> {
  const port = 4300 + Math.floor(Math.random() * 600);
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--data', dir, '--port', String(port), '-q'], { env: { ...env, NRR_API_TOKEN: TOKEN }, stdio: 'ignore' });
  const headers = { authorization: `Bearer ${TOKEN}` };
  try {
    let firstAnswerS = NaN;
    for (let i = 0; i < 6000; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/metrics?window=12`, { headers });
        if (res.status === 200) {
          await res.text();
          firstAnswerS = (performance.now() - started) / 1000;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const pages = async (): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const id = `A${String((i * 104729 + 42) % 1000).padStart(7, '0')}`;
        const t = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/api/accounts/${i === 0 ? account : id}`, { headers });
        await res.text();
        times.push(performance.now() - t);
      }
      return median(times);
    };
    const list = async (): Promise<number> => {
      const listed = performance.now();
      await (await fetch(`http://127.0.0.1:${port}/api/accounts?limit=1`, { headers })).text();
      const scoredAfterS = (performance.now() - started) / 1000;
      log(`every account scored ${scoredAfterS.toFixed(1)} s after the start (waited ${((performance.now() - listed) / 1000).toFixed(1)} s)`);
      return scoredAfterS;
    };
    if (listFirst) {
      const scoredAfterS = await list();
      const accountP50Ms = await pages();
      return { firstAnswerS, accountP50Ms, scoredAfterS, scoredP50Ms: accountP50Ms };
    }
    // Right after the start every account's scores are still being computed (each page scores its own account); then read from their table.
    const accountP50Ms = await pages();
    const scoredAfterS = await list();
    return { firstAnswerS, accountP50Ms, scoredAfterS, scoredP50Ms: await pages() };
  } finally {
    // The next server takes the store's lock: this one is gone first.
    const gone = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
}

export function formatStoreBench(r: { rows: Row[]; targets: Target[] }, accounts: number): string {
  const out = [`workspace store, ${accounts.toLocaleString('en-US')} accounts with signal files (Parquet):`, ''];
  // Times on a busy machine are not those of an idle one: say how busy it was.
  out.push(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(', ')} (1, 5, 15 min)`, '');
  const w = Math.max(...r.rows.map((x) => x.label.length));
  out.push(`${'step'.padEnd(w)}  ${'seconds'.padStart(8)}  ${'peak MB'.padStart(8)}  note`);
  for (const x of r.rows) out.push(`${x.label.padEnd(w)}  ${(x.seconds === null ? '—' : x.seconds.toFixed(3)).padStart(8)}  ${(x.peakMb === null ? '' : String(x.peakMb)).padStart(8)}  ${x.note}`);
  out.push('', 'targets (set for 1M accounts):');
  const t = Math.max(...r.targets.map((x) => x.name.length));
  for (const x of r.targets) out.push(`${x.name.padEnd(t)}  ${x.target.padEnd(26)}  ${x.measured.padEnd(26)}  ${x.met ? 'met' : 'NOT met'}`);
  return out.join('\n');
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
};

async function main(argv: readonly string[]): Promise<void> {
  const o = new Command()
    .name('store-bench')
    .description('Times the workspace store: cold sync, warm commands, ingested changes, the server.')
    .option('--accounts <n>', 'accounts to generate', positiveInt, 100_000)
    .option('--seed <s>', 'random seed', positiveInt, 1)
    .option('--out <dir>', 'folder for the generated company', 'bench-data/')
    .option('--timeout <seconds>', 'longest a command may take', positiveInt, 900)
    .option('--changes <n>', 'ingested changes to time', positiveInt, 1000)
    .option('--plays <n>', 'then run every account\'s plays once and time this many more changes, each evaluating its accounts\' plays (0: none)', (v: string) => (v === '0' ? 0 : positiveInt(v)), 0)
    .option('--no-slow', 'leave out accounts, health validate and playbooks backtest')
    .option('--json', 'print the result as JSON', false)
    .allowUnknownOption(true)
    .parse([...argv])
    .opts<{ accounts: number; seed: number; out: string; timeout: number; slow: boolean; changes: number; plays: number; json: boolean }>();
  const r = await runStoreBench({ accounts: o.accounts, seed: o.seed, out: o.out, timeoutS: o.timeout, slow: o.slow, changes: o.changes, plays: o.plays });
  process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatStoreBench(r, o.accounts)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv).catch((e: unknown) => {
    process.stderr.write(`store bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
