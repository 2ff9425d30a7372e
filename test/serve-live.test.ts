import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from './helpers/fixture-dir.js';
import { freePort } from './helpers/free-port.js';

/**
 * `nrr serve` on the store, as a process: it follows the data folder (a changed file shows in the
 * API without a restart) and takes ingested changes over HTTP, with the token, checked by the
 * contract's rules; every answer equals what the CLI computes from the same rows without a store.
 */

const BIN = join(process.cwd(), 'dist', 'cli', 'nrr.js');
const TOKEN = 'live-test-token-0123456789';
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  children.forEach((c) => c.kill('SIGTERM'));
  dirs.forEach(removeDir);
});

function copyOfAcme(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nrr-live-'));
  dirs.push(dir);
  cpSync('examples/acme', dir, { recursive: true, filter: (src) => !src.includes('.nrr') });
  return dir;
}


async function serve(dir: string, token: string | null): Promise<string> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, NRR_TODAY: '2026-01-15' };
  delete env['NRR_API_TOKEN'];
  if (token !== null) env['NRR_API_TOKEN'] = token;
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Dashboard:')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`nrr serve exited with ${code}: ${err}`)));
  });
  return `http://127.0.0.1:${port}`;
}

const auth = { authorization: `Bearer ${TOKEN}` };

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: auth });
  expect(res.status).toBe(200);
  return res.json();
}

/**
 * The CLI's metrics computed from the files alone (no store), as the API gives them: money as
 * decimal text (the CLI's JSON writes it as exact number literals), ratios as numbers.
 */
function cliMetrics(dir: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, [BIN, 'metrics', '--data', dir, '--window', '12', '--format', 'json', '--no-store', '-q'], {
    encoding: 'utf8',
    env: { ...process.env, NRR_TODAY: '2026-01-15' },
  });
  expect(r.status, r.stderr).toBe(0);
  const parsed = parseLossless(r.stdout) as Record<string, { toString(): string } | null>;
  const money = new Set(['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'fx']);
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v === null ? null : money.has(k) ? v.toString() : Number(v.toString())]));
}

const NEW_LINE = 'ACC-0007,L-LIVE-1,platform,2025-03-01,,48000.40,annual,0,USD\n';

describe('nrr serve follows the data folder', () => {
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = copyOfAcme();
    url = await serve(dir, TOKEN);
  }, 120_000);

  it('reflects a row appended to subscriptions.csv in /api/metrics within 5 s, as a build from the files computes it', async () => {
    const before = ((await getJson(`${url}/api/metrics?window=12`)) as Record<string, unknown>[])[0]!;
    appendFileSync(join(dir, 'subscriptions.csv'), NEW_LINE);
    const expected = cliMetrics(dir);
    expect(expected['ending_mrr']).not.toEqual(before['ending_mrr']);
    const deadline = Date.now() + 5_000;
    let now = before;
    while (Date.now() < deadline) {
      now = ((await getJson(`${url}/api/metrics?window=12`)) as Record<string, unknown>[])[0]!;
      if (now['ending_mrr'] !== before['ending_mrr']) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const k of ['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'nrr', 'grr']) expect(now[k], k).toEqual(expected[k]);
  }, 60_000);

  it('takes an ingested line over HTTP: refused without the token or with a bad row, applied once per batch id, reflected in every answer', async () => {
    const body = JSON.stringify({ rows: [{ account_id: 'ACC-0011', line_id: 'L-LIVE-2', product: 'platform', start_date: '2025-05-01', amount: 1234.567891, interval: 'monthly', currency: 'USD' }] });
    const post = (headers: Record<string, string>, b = body) => fetch(`${url}/api/ingest/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b });
    expect((await post({})).status).toBe(401);
    const bad = await post(auth, JSON.stringify({ rows: [{ account_id: 'ACC-0011', line_id: 'L-BAD', start_date: '2025-02-30', amount: '12', interval: 'monthly' }] }));
    expect(bad.status).toBe(400);
    const badBody = (await bad.json()) as { error: string; issues: { column: string; value: string }[] };
    expect(badBody.error).toMatch(/1 invalid value; nothing was applied/);
    expect(badBody.issues[0]).toMatchObject({ column: 'start_date', value: '2025-02-30' });
    const ok = await post({ ...auth, 'idempotency-key': 'batch-live-1' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ batch_id: 'batch-live-1', already_applied: false, rows: 1, accounts: ['ACC-0011'] });
    const again = await post({ ...auth, 'idempotency-key': 'batch-live-1' });
    expect(await again.json()).toMatchObject({ already_applied: true });
    // The same row written to the file, computed from the files alone: the same figures, to the digit.
    const check = copyOfAcme();
    appendFileSync(join(check, 'subscriptions.csv'), NEW_LINE + 'ACC-0011,L-LIVE-2,platform,2025-05-01,,1234.567891,monthly,0,USD\n');
    const expected = cliMetrics(check);
    const now = ((await getJson(`${url}/api/metrics?window=12`)) as Record<string, unknown>[])[0]!;
    for (const k of ['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'nrr', 'grr']) expect(now[k], k).toEqual(expected[k]);
    const account = (await getJson(`${url}/api/accounts/ACC-0011`)) as { explanation: { lines: { line_id: string }[] } };
    expect(JSON.stringify(account)).toContain('L-LIVE-2');
    // Withdrawn, the line is gone again.
    const gone = await post(auth, JSON.stringify({ withdraw: [{ line_id: 'L-LIVE-2' }] }));
    expect(await gone.json()).toMatchObject({ withdrawn: 1, accounts: ['ACC-0011'] });
    const after = ((await getJson(`${url}/api/metrics?window=12`)) as Record<string, unknown>[])[0]!;
    expect(after['ending_mrr']).toEqual(cliMetrics(dir)['ending_mrr']);
  }, 90_000);
});

describe('a command while nrr serve holds the store', () => {
  it('does not wait for the server: it computes from the files at once and says so', async () => {
    const dir = copyOfAcme();
    await serve(dir, TOKEN);
    // Were it to wait for the store, it would wait 10 minutes: past this test's time limit.
    const r = spawnSync(process.execPath, [BIN, 'metrics', '--data', dir, '--window', '12', '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, NRR_TODAY: '2026-01-15', NRR_STORE_WAIT_MS: '600000' },
      timeout: 80_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is held by nrr serve \(process \d+\), which keeps it up to date: these figures were computed from the files/);
    expect(parseLossless(r.stdout)).toEqual(parseLossless(spawnSync(process.execPath, [BIN, 'metrics', '--data', dir, '--window', '12', '--format', 'json', '--no-store', '-q'], { encoding: 'utf8', env: { ...process.env, NRR_TODAY: '2026-01-15' } }).stdout));
  }, 90_000);
});

describe('ingest without a token', () => {
  it('is refused with 403, even on loopback: a web page can send a POST there', async () => {
    const url = await serve(copyOfAcme(), null);
    const res = await fetch(`${url}/api/ingest/tickets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/needs a token/);
  }, 60_000);
});
