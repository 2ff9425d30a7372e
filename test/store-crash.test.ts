import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../src/index.js';
import { removeDir } from './helpers/fixture-dir.js';

/**
 * kill -9 at any point of a sync leaves the store as it was before or after: the next command
 * converges and answers as the files do, and nothing is doubled.
 */

const BIN = join(process.cwd(), 'dist', 'cli', 'nrr.js');
const ENV = { ...process.env, NRR_TODAY: '2026-07-01' };
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-crash-'));
  await generateCompany({ out: dir, accounts: 1500, months: 30, seed: 5, end: '2026-06' });
}, 120_000);
afterAll(() => removeDir(dir));

const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Starts `nrr sync` and kills it with SIGKILL after `ms`. */
async function killedSync(ms: number): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'sync', '--data', dir, '-q'], { env: ENV, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
}

function expectSameAsFiles(): void {
  const stored = run('movements', '--data', dir, '--format', 'csv', '-q');
  expect(stored.status, stored.stderr).toBe(0);
  const scratch = run('movements', '--data', dir, '--format', 'csv', '-q', '--no-store');
  expect(stored.stdout).toEqual(scratch.stdout);
  const sync = run('sync', '--data', dir, '--format', 'json', '-q');
  expect(JSON.parse(sync.stdout)).toMatchObject({ action: 'read' });
}

describe('a sync killed at any point', () => {
  it('while the store is first built: no store, or a whole one; the next command answers as the files do', async () => {
    for (const ms of [150, 600, 1500, 3000]) {
      await killedSync(ms);
      expectSameAsFiles();
      // What the killed build left beside the store is gone once another build ran.
      const left = existsSync(join(dir, '.nrr')) ? readdirSync(join(dir, '.nrr')) : [];
      expect(left.filter((f) => f.includes('.building'))).toEqual([]);
      removeDir(join(dir, '.nrr'));
    }
  }, 300_000);

  it('while it updates: the store is as it was or as it should be, and converges; lines are not doubled', async () => {
    expect(run('sync', '--data', dir, '-q').status).toBe(0);
    const subs = join(dir, 'subscriptions.csv');
    const original = readFileSync(subs, 'utf8');
    const lines = original.trimEnd().split('\n');
    for (const [i, ms] of [100, 300, 700, 1200, 2000].entries()) {
      // Change some lines (an end date moved) and add some.
      const changed = lines.map((l, k) =>
        k > 0 && k % (37 + i) === 0 ? l.replace(/,(\d{4}-\d{2}-\d{2}),(\d{4}-\d{2}-\d{2})?,/, (all: string, start: string) => (start < '2026-03-01' ? `,${start},2026-03-31,` : all)) : l,
      );
      writeFileSync(subs, changed.join('\n') + '\n');
      appendFileSync(subs, `A0000001,CRASH-${i},platform,2026-0${(i % 5) + 1}-01,,${100 + i}.25,monthly,0,USD\n`);
      await killedSync(ms);
      expectSameAsFiles();
      const count = run('validate', '--data', dir, '--format', 'json', '-q');
      const rows = (JSON.parse(count.stdout) as { files: { file: string; rows: number }[] }).files.find((f) => f.file === 'subscriptions.csv')!.rows;
      expect(rows).toBe(readFileSync(subs, 'utf8').trimEnd().split('\n').length - 1);
    }
  }, 300_000);
});
