import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLosslessNumber, parse } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemo } from '../src/generate/demo-folder.js';
import { removeDir } from './helpers/fixture-dir.js';
import { freePort } from './helpers/free-port.js';

// The built server (`nrr serve`) on the demo company: its forecast's fit and simulation run on a
// worker thread, which exists only in the build (dist/serve/forecast-worker.js).
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const built = existsSync(BIN) && existsSync(join(process.cwd(), 'dist/serve/forecast-worker.js'));
if (!built && process.env['CI'] !== 'true') process.stderr.write('SKIPPED serve-forecast-background: no build (run npm run build)\n');

/** Every leaf as text: money is a decimal string in the API and an exact JSON number in the CLI's output. */
function leaves(text: string): unknown {
  const walk = (v: unknown): unknown =>
    isLosslessNumber(v) ? v.toString() : Array.isArray(v) ? v.map(walk) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)])) : typeof v === 'number' ? String(v) : v;
  return walk(parse(text));
}

describe.skipIf(!built && process.env['CI'] !== 'true')('nrr serve while the forecast is computed', () => {
  let dir = '';
  let child: ChildProcess | null = null;
  let base = '';
  let cliForecast = '';
  let cliEnterprise = '';
  let accountId = '';

  beforeAll(async () => {
    expect(built, 'the build (npm run build) is needed under CI').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'nrr-serve-forecast-'));
    await ensureDemo(dir);
    // The CLI's forecast first: the server then holds the store.
    const cli = spawnSync(process.execPath, [BIN, 'forecast', '--data', dir, '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    expect(cli.status, cli.stderr).toBe(0);
    cliForecast = cli.stdout;
    const enterprise = spawnSync(process.execPath, [BIN, 'forecast', '--data', dir, '--where', 'segment=enterprise', '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    expect(enterprise.status, enterprise.stderr).toBe(0);
    cliEnterprise = enterprise.stdout;
    accountId = (JSON.parse(cliForecast) as { accounts: { account_id: string }[] }).accounts[0]!.account_id;
    const port = await freePort();
    const env = { ...process.env };
    delete env['NRR_API_TOKEN'];
    const server = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = server;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Dashboard:')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`nrr serve exited with ${code}`)));
    });
    base = `http://127.0.0.1:${port}`;
  }, 300_000);

  afterAll(() => {
    child?.kill('SIGTERM');
    if (dir) removeDir(dir);
  });

  it('answers an account page while the forecast is still computing, then serves the forecast nrr forecast prints', async () => {
    const order: string[] = [];
    const forecast = fetch(`${base}/api/forecast?horizon=90`).then(async (r) => {
      order.push('forecast');
      expect(r.status).toBe(200);
      return r.text();
    });
    const account = await fetch(`${base}/api/accounts/${encodeURIComponent(accountId)}`);
    order.push('account');
    expect(account.status).toBe(200);
    expect(((await account.json()) as { explanation: { history: unknown[] } }).explanation.history.length).toBeGreaterThan(0);
    // The server's own word that the 90-day forecast (the one asked for above) is still being computed.
    const renewals = (await (await fetch(`${base}/api/renewals`)).json()) as { forecast: { status: string } };
    order.push(`renewals:${renewals.forecast.status}`);
    const accounts = (await (await fetch(`${base}/api/accounts?limit=5`)).json()) as { probabilities?: { status: string } };
    const text = await forecast;
    expect(order).toEqual(['account', 'renewals:computing', 'forecast']);
    expect(accounts.probabilities?.status ?? 'computing').not.toBe('unavailable');
    // The forecast when it arrives: every figure, account and reason as the CLI prints it.
    expect(leaves(text)).toEqual(leaves(cliForecast));
    // Then one account's entry, and the renewals' probabilities, are that forecast's.
    const one = (await (await fetch(`${base}/api/forecast/accounts/${encodeURIComponent(accountId)}`)).json()) as { as_of: string; account: { churn_probability: number } };
    const mine = (JSON.parse(cliForecast) as { as_of: string; accounts: { account_id: string; churn_probability: number }[] }).accounts.find((a) => a.account_id === accountId)!;
    expect(one.as_of).toBe((JSON.parse(cliForecast) as { as_of: string }).as_of);
    expect(one.account.churn_probability).toBe(mine.churn_probability);
    expect(((await (await fetch(`${base}/api/renewals`)).json()) as { forecast: { status: string } }).forecast.status).toBe('ready');
  }, 300_000);

  it("answers a filter from the company's simulation: what nrr forecast --where prints, and no fit or simulation of its own", async () => {
    // The company's forecast is computed (the test above); the filter's is summed from it.
    const r = await fetch(`${base}/api/forecast?horizon=90&segment=enterprise`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(leaves(text)).toEqual(leaves(cliEnterprise));
    expect((JSON.parse(text) as { filter: { accounts: number } }).filter.accounts).toBeLessThan((JSON.parse(cliForecast) as { account_count: number }).account_count);
    const status = (await (await fetch(`${base}/api/status`)).json()) as { jobs: { job: string; what: string; status: string }[] };
    expect(status.jobs.find((j) => j.job === 'forecast:90:segment=enterprise')).toMatchObject({ status: 'done', what: expect.stringContaining("summed from the company's simulation") });
    expect(status.jobs.find((j) => j.job === 'forecast:90')).toMatchObject({ what: expect.stringContaining('model rows, fit and simulation') });
  }, 120_000);
});
