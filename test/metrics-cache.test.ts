import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveWorkspace } from '../src/index.js';

// `nrr metrics` keeps its answer beside the store and reads it back while the store is unchanged;
// after a synced file change or an ingested change it answers as a computation from the files
// (`--no-store`) does, to the digit.
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
let dir = '';

function nrr(...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) throw new Error(`nrr ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const metricsArgs = (by: string): string[] => ['metrics', '--data', dir, '--window', '12', '--by', by, '-q', '--format', 'json'];
const answersDir = (): string => join(dir, '.nrr', 'answers');

/** Writes 1.23 as the first group's starting MRR into every kept answer: what comes back from a kept answer shows it. */
function tamperKeptAnswers(): void {
  for (const f of readdirSync(answersDir())) {
    const kept = JSON.parse(readFileSync(join(answersDir(), f), 'utf8')) as { rows: Record<string, unknown>[] };
    kept.rows[0]!['starting_mrr'] = '1.23';
    writeFileSync(join(answersDir(), f), JSON.stringify(kept));
  }
}

const firstStart = (json: string): unknown => (JSON.parse(json) as { starting_mrr: unknown }[])[0]!.starting_mrr;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-metrics-cache-'));
  // The data files alone: other tests run commands on examples/acme, which leaves a store (and kept answers) there.
  cpSync('examples/acme', dir, { recursive: true, filter: (src) => !src.split(/[\\/]/).includes('.nrr') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('metrics answers kept beside the store', () => {
  it('are read back while the store is unchanged, and computed again after a sync or an ingested change', async () => {
    const fromFiles = nrr(...metricsArgs('segment'), '--no-store');
    const first = nrr(...metricsArgs('segment'));
    expect(first).toBe(fromFiles);
    expect(readdirSync(answersDir()).length).toBe(1);
    // Read back: the same text, every digit.
    expect(nrr(...metricsArgs('segment'))).toBe(fromFiles);
    // Another question is never answered by the kept answer of the first.
    expect(nrr(...metricsArgs('region'))).toBe(nrr(...metricsArgs('region'), '--no-store'));
    expect(readdirSync(answersDir()).length).toBe(2);

    // What is read is the kept answer, not a new computation: a value written into it comes back.
    tamperKeptAnswers();
    expect(firstStart(nrr(...metricsArgs('segment')))).toBe(1.23);

    // A row appended to a file: the sync changes the store, and the answer is the files' again.
    const line = 'ACC-0010,L-CACHE-1,platform,2025-01-01,,1200.10,monthly,,USD\n';
    appendFileSync(join(dir, 'subscriptions.csv'), line);
    const afterSync = nrr(...metricsArgs('segment'));
    expect(afterSync).toBe(nrr(...metricsArgs('segment'), '--no-store'));
    expect(afterSync).not.toBe(fromFiles);

    // An ingested change (the store only): the kept answer of the state before it is not read.
    tamperKeptAnswers();
    const live = await LiveWorkspace.open({ data: dir, signals: true });
    try {
      await live.apply({
        source: 'subscriptions',
        rows: [{ account_id: 'ACC-0021', line_id: 'L-CACHE-2', product: 'platform', start_date: '2025-02-01', amount: '333.33', interval: 'monthly', currency: 'USD' }],
      });
    } finally {
      live.close();
    }
    // The store as it is now (--no-sync) against the files holding the same rows (--no-store).
    const afterIngest = nrr(...metricsArgs('segment'), '--no-sync');
    appendFileSync(join(dir, 'subscriptions.csv'), 'ACC-0021,L-CACHE-2,platform,2025-02-01,,333.33,monthly,,USD\n');
    expect(afterIngest).toBe(nrr(...metricsArgs('segment'), '--no-store'));
    expect(firstStart(afterIngest)).not.toBe(1.23);
  }, 120_000);
});
