import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, cohortTable, explainAccount, generateCompany, metrics, scoreAccounts, type Money } from '../src/index.js';
import { formatMoney } from '../src/report/format.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { PlaybookState } from '../src/playbooks/playbook-state.js';
import { statePath } from '../src/playbooks/playbook-settings.js';
import { startServer, type RunningServer } from '../src/serve/start-server.js';
import { removeDir } from './helpers/fixture-dir.js';
import { benchmarkForAcv } from '../src/report/benchmarks.js';

/**
 * The dashboard end to end in Debian's Chromium (never a downloaded browser): every page opens,
 * shows the engine's numbers, keeps its state in the URL, and clicks through to an account.
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  if (process.env['CI'] === 'true') throw new Error(`CI=true and no Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
  console.warn(`\n*** SKIPPING the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);
}

const SHOTS = join(process.cwd(), 'test-output');
let dir: string;
let ws: Workspace;
let server: RunningServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];
const timings: string[] = [];

const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
/** As the engine writes money (from its decimal text), with the dollar sign: what the page must show. */
const usd = (m: Money): string => `$${formatMoney(m)}`;
const compactUsd = (x: number): string => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 2 }).format(x);

async function open(path: string, shot: string): Promise<void> {
  const started = performance.now();
  await page.goto(`${server.url.replace(/\/$/, '')}${path}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
  timings.push(`${path}: first paint ${fcp === null ? '—' : `${Math.round(fcp)} ms`}, data shown ${Math.round(performance.now() - started)} ms`);
  await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
}

describe.skipIf(!haveBrowser)('the dashboard in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'nrr-browser-'));
    await generateCompany({ out: dir, accounts: 400, months: 30, seed: 11, end: '2026-06' });
    ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2026-06' } });
    await runPlaybooks(ws, {});
    server = await startServer(ws, { port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    ws?.close();
    removeDir(dir);
    if (timings.length) console.log(`dashboard timings (1366×768):\n  ${timings.join('\n  ')}`);
  });

  it('Overview shows the engine’s T12M NRR, GRR and logo retention, and the month and window live in the URL', async () => {
    const [m] = await metrics(ws, { window: 12 });
    await open('/', 'overview');
    expect(new URL(page.url()).pathname).toBe('/overview');
    expect(await page.textContent('[data-metric="nrr"]')).toBe(pct(m!.nrr));
    expect(await page.textContent('[data-metric="grr"]')).toBe(pct(m!.grr));
    expect(await page.textContent('[data-metric="logo"]')).toBe(pct(m!.logo_retention));
    expect(await page.textContent('[data-metric="arr"]')).toBe(compactUsd(m!.ending_mrr.times(12).toNumber()));
    // The benchmark is the one of the cohort's median ACV, as in the report.
    expect(await page.inputValue('select[data-param="benchmark"]')).toBe(benchmarkForAcv(m!.median_acv!).key);
    // The trend and the bridge are drawn.
    expect(await page.locator('#trend canvas').count()).toBe(1);
    expect(await page.locator('#bridge canvas').count()).toBe(1);
    // Tooltips render under the Content-Security-Policy too (any violation is logged as an error).
    await page.hover('#trend canvas', { position: { x: 300, y: 150 } });
    await page.hover('#bridge canvas', { position: { x: 120, y: 200 } });
    await page.screenshot({ path: join(SHOTS, 'overview-tooltip.png') });

    await page.selectOption('select[data-param="window"]', '3');
    await page.waitForFunction(() => location.search.includes('window=3'));
    await page.waitForSelector('body[data-ready="true"]');
    const [q] = await metrics(ws, { window: 3 });
    expect(await page.textContent('[data-metric="nrr"]')).toBe(pct(q!.nrr));

    // A shared link opens the same view.
    const [march] = await metrics(ws, { window: 12, month: '2026-03' });
    await open('/overview?month=2026-03&window=12', 'overview-2026-03');
    expect(await page.textContent('[data-metric="nrr"]')).toBe(pct(march!.nrr));
    expect(await page.inputValue('select[data-param="month"]')).toBe('2026-03');
  });

  it('Segments lists every group with its NRR, and marks small groups and implausible NRR', async () => {
    const groups = await metrics(ws, { window: 12, by: 'segment' });
    await open('/segments?by=segment&sort=nrr&dir=desc', 'segments');
    const rows = page.locator('#segments tbody tr');
    expect(await rows.count()).toBe(groups.length);
    const best = [...groups].filter((g) => g.nrr !== null).sort((a, b) => b.nrr! - a.nrr!)[0]!;
    expect(await rows.first().locator('td').first().textContent()).toContain(best.group);
    expect(await rows.first().locator('[data-nrr]').textContent()).toBe(pct(best.nrr));
    // One threshold everywhere: the rows the engine marks small_group (min_group_accounts), and only those.
    const small = groups.filter((g) => g.small_group).length;
    expect(small).toBeGreaterThan(0);
    expect(await page.locator('#segments [data-flag="small_group"]').count()).toBe(small);
    expect(await page.locator('#segments [data-flag="implausible"]').count()).toBe(groups.filter((g) => g.nrr_plausible === false).length);
  });

  it('Cohorts draws the heatmap of every cohort', async () => {
    const cohorts = await cohortTable(ws, 'quarter');
    await open('/cohorts?granularity=quarter', 'cohorts');
    expect(await page.getAttribute('#heatmap', 'data-cohorts')).toBe(String(cohorts.length));
    expect(await page.locator('[data-flag="small_group"]').count()).toBe(cohorts.filter((c) => c.small_group).length);
    expect(await page.locator('#heatmap canvas').count()).toBeGreaterThan(0);
  });

  it('Accounts filters and sorts from the URL, and clicks through to the account with its numbers', async () => {
    const scored = await scoreAccounts(ws, {});
    const byArr = [...scored].sort((a, b) => b.record.arr.toNumber() - a.record.arr.toNumber());
    await open('/accounts?sort=arr', 'accounts');
    const first = page.locator('#accounts tbody tr').first();
    const id = byArr[0]!.record.account_id;
    expect(await first.getAttribute('data-account')).toBe(id);
    expect(await first.locator('[data-arr]').textContent()).toBe(usd(byArr[0]!.record.arr));

    await page.selectOption('select[data-param="health"]', 'red');
    await page.waitForFunction(() => location.search.includes('health=red'));
    await page.waitForSelector('body[data-ready="true"]');
    const red = scored.filter((s) => s.health.colour === 'red').length;
    expect(await page.locator('#accounts tbody tr').count()).toBe(Math.min(50, red));

    await open('/accounts?sort=arr', 'accounts');
    await page.locator('#accounts tbody tr').first().locator('a').click();
    await page.waitForFunction((want) => location.pathname === want, `/accounts/${id}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.textContent('[data-metric="account-arr"]')).toBe(usd(byArr[0]!.record.arr));
    const explained = await explainAccount(ws, id);
    expect(await page.locator('#movements tbody tr').count()).toBe(explained.movements.length);
    expect(await page.locator('#history canvas').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'account.png'), fullPage: true });
    await page.goBack();
    await page.waitForFunction(() => location.pathname === '/accounts');
  });

  it('Playbooks shows open tasks per play as in the play state, and the backtest', async () => {
    const s = await PlaybookState.open(statePath(ws.dataDir, ws.scoring.playbookSettings));
    const open_ = await s.tasks({ status: 'open' });
    s.close();
    await open('/playbooks', 'playbooks');
    for (const p of ws.scoring.playbooks) {
      expect(await page.textContent(`[data-open="${p.name}"]`), p.name).toBe(String(open_.filter((t) => t.playbook === p.name).length));
    }
    expect(await page.locator('#backtest-table tbody tr').count()).toBe(ws.scoring.playbooks.length);
    expect(await page.locator('#owners canvas').count()).toBe(1);
  });

  it('no page logged an error', () => {
    expect(errors).toEqual([]);
  });
});
