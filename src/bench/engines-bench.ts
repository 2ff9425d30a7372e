#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { openWarehouse } from '../drivers/open-warehouse.js';
import { monthText } from '../engine/months.js';
import { metrics } from '../queries/metrics-queries.js';
import { openInWarehouse } from '../workspace/warehouse-model.js';
import { Workspace, type OpenOptions } from '../workspace/workspace.js';
import { LAST_MONTH, generateBenchData } from './bench-data.js';

/**
 * `node dist/bench/engines-bench.js`: the whole pipeline (`nrr metrics --store URL` as a process:
 * read and check the files, copy, build the model, answer) and the warm `metrics` query on each
 * engine, on the same generated data, with ratios to DuckDB in the same run and peak memory.
 * Each engine's answer is checked equal to DuckDB's.
 */

interface EngineRun {
  readonly engine: string;
  readonly store: string | null;
  readonly pipelineSeconds: number;
  readonly peakMb: number;
  readonly warmSeconds: number;
  readonly sameAsDuckDb: boolean;
}

const BIN = join(import.meta.dirname, '..', 'cli', 'nrr.js');

/** One `nrr metrics` process under /usr/bin/time: its output, wall time and peak resident memory. */
function timedPipeline(data: string, asOf: string, store: string | null): { out: string; seconds: number; peakMb: number } {
  const args = ['-f', 'TIME %e %M', process.execPath, BIN, 'metrics', '--data', data, '--as-of', asOf, '--window', '12', '-q', '--format', 'json', ...(store === null ? ['--no-store'] : ['--store', store])];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NRR_TODAY: '2026-01-15' } });
  const line = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || line === null) throw new Error(`nrr metrics --store ${store ?? '(DuckDB)'} failed: ${r.stderr.slice(-2000)}`);
  return { out: r.stdout, seconds: Number(line[1]), peakMb: Number(line[2]) / 1024 };
}

/** The warm `metrics` query: the model opened once in-process, the query run once, then `runs` more times (the median). */
async function warmMetrics(options: OpenOptions, store: string | null, runs: number): Promise<number> {
  const ws = store === null ? await Workspace.open({ ...options, store: false }) : await openInWarehouse(options, await openWarehouse(store));
  try {
    const month = options.policies?.as_of ?? '';
    await metrics(ws, { month, window: 12 });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await metrics(ws, { month, window: 12 });
      times.push((performance.now() - t) / 1000);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    ws.close();
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const o = new Command()
    .option('--accounts <n>', 'accounts to generate', '100000')
    .option('--months <n>', 'months of history', '24')
    .option('--seed <n>', 'random seed', '1')
    .option('--out <dir>', 'where the generated files go (reused when already there)', join(tmpdir(), 'nrr-bench-engines'))
    .option('--stores <list>', 'engines after DuckDB: clickhouse://embedded, postgres://…, clickhouse://host… (comma list)', 'clickhouse://embedded')
    .option('--runs <n>', 'warm metrics runs per engine (the median is kept)', '5')
    .parse([...argv])
    .opts<{ accounts: string; months: string; seed: string; out: string; stores: string; runs: string }>();
  const data = await generateBenchData({ accounts: Number(o.accounts), months: Number(o.months), seed: Number(o.seed), out: o.out }, (m) => process.stderr.write(`${m}\n`));
  const asOf = monthText(LAST_MONTH);
  const options: OpenOptions = { data: data.dir, policies: { as_of: asOf }, today: new Date('2026-01-15T00:00:00Z') };
  const stores: (string | null)[] = [null, ...o.stores.split(',').map((s) => s.trim()).filter((s) => s !== '')];
  const results: EngineRun[] = [];
  let reference = '';
  for (const store of stores) {
    const name = store === null ? 'duckdb' : store.replace(/\/\/[^@/]*@/, '//');
    process.stderr.write(`${name}: the whole pipeline…\n`);
    const p = timedPipeline(data.dir, asOf, store);
    if (store === null) reference = p.out;
    process.stderr.write(`${name}: warm metrics…\n`);
    const warm = await warmMetrics(options, store, Number(o.runs));
    results.push({ engine: name, store, pipelineSeconds: p.seconds, peakMb: p.peakMb, warmSeconds: warm, sameAsDuckDb: p.out === reference });
  }
  const base = results[0]!;
  const rows = results.map((r) => [
    r.engine,
    r.pipelineSeconds.toFixed(1),
    `${(r.pipelineSeconds / base.pipelineSeconds).toFixed(2)}×`,
    r.peakMb.toFixed(0),
    (r.warmSeconds * 1000).toFixed(0),
    `${(r.warmSeconds / base.warmSeconds).toFixed(2)}×`,
    r.sameAsDuckDb ? 'yes' : 'NO',
  ]);
  process.stdout.write(
    `${data.accounts} accounts, ${data.lines} contract lines, ${data.months} months (as of ${asOf})\n` +
      `| engine | pipeline s | vs DuckDB | peak MB (nrr process) | warm metrics ms | vs DuckDB | same JSON as DuckDB |\n| --- | --- | --- | --- | --- | --- | --- |\n` +
      rows.map((r) => `| ${r.join(' | ')} |`).join('\n') +
      '\n',
  );
}

main(process.argv).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
