import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, cohortTable, explainAccount, generateCompany, metrics, scoreAccounts, type Money } from '../src/index.js';
import { formatMoney } from '../src/report/format.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { PlaybookState } from '../src/playbooks/playbook-state.js';
import { statePath } from '../src/playbooks/playbook-settings.js';
import { revenueSeries } from '../src/queries/series-queries.js';
import type { RunningServer } from '../src/serve/start-server.js';
import { closeServed, haveChromium, serveInChromium } from './helpers/chromium.js';
import { FIRST_ROWS } from '../web/src/data-table.js';
import { benchmarkForAcv } from '../src/report/benchmarks.js';

/**
 * The dashboard end to end in Debian's Chromium (never a downloaded browser): every page opens and
 * shows the engine's numbers, keeps its state in the URL, drills down to the rows behind a number,
 * exports its tables as CSV (exact money) and charts as PNG, works at 390 px and by keyboard.
 * Screenshots of every page at 1440 and 390 px go to test-artifacts/ (git-ignored); with
 * NRR_DOC_IMAGES=1 the 1440 ones are copied to docs/images/ for docs/dashboard.md.
 */
const haveBrowser = haveChromium('the browser tests');

const SHOTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const DOC_IMAGES = join(process.cwd(), 'docs', 'images');
let dir: string;
let ws: Workspace;
let server: RunningServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];
const timings: string[] = [];

const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
/** As the engine writes money (from its decimal text), with the dollar sign: what the page must show. */
const usd = (m: Money | string): string => {
  const text = formatMoney(new Big(m.toString()) as never);
  return text.startsWith('-') ? `-$${text.slice(1)}` : `$${text}`;
};
const base = (): string => server.url.replace(/\/$/, '');
const api = async <T>(path: string): Promise<T> => (await (await fetch(`${base()}${path}`)).json()) as T;

async function ready(): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  // The chart library comes after the page's figures (charts.ts): the charts the page has drawn by now are then in.
  await page.waitForFunction(() => !document.querySelector('[data-chart="pending"]'), null, { timeout: 60_000 });
}
async function open(path: string): Promise<void> {
  const started = performance.now();
  await page.goto(`${base()}${path}`);
  await ready();
  timings.push(`${path}: data shown ${Math.round(performance.now() - started)} ms`);
  const error = page.locator('#page .error');
  if ((await error.count()) > 0) throw new Error(`${path} shows an error: ${await error.first().textContent()}`);
}
/** Waits for a client-side navigation to `path` to finish. */
async function navigated(path: string): Promise<void> {
  await page.waitForFunction((want) => location.pathname === want, path);
  await ready();
}
/** Clicks and returns the downloaded file's text. */
/** Draws every row of a long table (it shows FIRST_ROWS at first, then "Show all"): after it, the rows are all there. */
async function showAll(id: string, total: number): Promise<void> {
  expect(await page.locator(`#${id} tbody tr`).count()).toBe(Math.min(total, FIRST_ROWS));
  const button = page.locator(`[data-show-all="${id}"]`);
  expect(await button.count()).toBe(total > FIRST_ROWS ? 1 : 0);
  if (total > FIRST_ROWS) await button.click();
}

async function downloadText(selector: string): Promise<{ name: string; text: string }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = await d.path();
  return { name: d.suggestedFilename(), text: readFileSync(path, 'utf8') };
}
/** Clicks the chart in `#id` at category `index` and axis value `value` (inside the bar of `seriesId`). */
async function clickBar(id: string, seriesId: string, index: number, value: number): Promise<void> {
  await page.locator(`#${id}`).scrollIntoViewIfNeeded();
  const at = await page.evaluate(
    ([id, seriesId, index, value]) => {
      const el = document.getElementById(id as string)!;
      const c = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { convertToPixel(f: object, v: number[]): number[] } } }).echarts.getInstanceByDom(el);
      const [x, y] = c.convertToPixel({ seriesId }, [index as number, value as number]);
      const r = el.getBoundingClientRect();
      return { x: r.left + x!, y: r.top + y! };
    },
    [id, seriesId, index, value] as const,
  );
  await page.mouse.click(at.x, at.y);
}

describe.skipIf(!haveBrowser)('the dashboard in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'nrr-browser-'));
    await generateCompany({ out: dir, accounts: 400, months: 30, seed: 11, end: '2026-06' });
    ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2026-06' } });
    await runPlaybooks(ws, {});
    ({ server, browser } = await serveInChromium(ws));
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // A 404 of an optional route is shown on the page; anything else is an error.
      if (m.type() === 'error' && !/status of 404/.test(m.text())) errors.push(m.text());
    });
  }, 180_000);
  afterAll(async () => {
    await closeServed({ browser, server, ws, dir });
    if (timings.length) console.log(`dashboard timings (1440×900):\n  ${timings.join('\n  ')}`);
  });

  it('Overview shows the company MRR series, its bridge and NRR as the engine computes them', async () => {
    const { rows } = await revenueSeries(ws, {});
    const last = rows[rows.length - 1]!;
    await open('/');
    expect(new URL(page.url()).pathname).toBe('/overview');
    // The monthly bridge table: every month of the range with the engine's exact amounts.
    const table = page.locator('#bridge-table tbody tr');
    expect(await table.count()).toBe(12);
    expect(await page.textContent(`[data-mrr="${last.month}"]`)).toBe(usd(last.mrr));
    expect(await page.textContent('[data-metric="customers"]')).toBe(last.customers.toLocaleString('en-US'));
    // ARPA = MRR ÷ customers, to the cent, half away from zero.
    expect(await page.textContent('[data-metric="arpa"]')).toBe(usd(new Big(last.mrr.toString()).div(last.customers).round(2, Big.roundHalfUp).toFixed(2)));
    // The CSV holds the API's exact decimal text (not the rounded cents on screen).
    const csv = await downloadText('[data-csv="bridge-table"]');
    expect(csv.name).toMatch(/^mrr-bridge-.*\.csv$/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('month,starting MRR,new,expansion,reactivation,contraction,churn,net new,ending MRR,ARR,customers');
    expect(lines[lines.length - 1]).toBe(
      [last.month, rows[rows.length - 2]!.mrr, last.new, last.expansion, last.reactivation, last.contraction, last.churn, last.net_new, last.mrr, last.arr, last.customers].map(String).join(','),
    );
    // NRR of the window's cohort, with the benchmark of its median ACV (annual: T12M only).
    const [m] = await metrics(ws, { window: 12 });
    expect(await page.textContent('[data-metric="nrr"]')).toBe(pct(m!.nrr));
    expect(await page.textContent('[data-metric="grr"]')).toBe(pct(m!.grr));
    expect(await page.inputValue('select[data-param="benchmark"]')).toBe(benchmarkForAcv(m!.median_acv!).key);
    await page.waitForSelector('#monthly-nrr[data-drawn="true"]', { timeout: 120_000 });
    for (const id of ['mrr-chart', 'movements-chart', 'trend', 'monthly-nrr', 'bridge']) expect(await page.locator(`#${id} canvas`).count(), id).toBe(1);
    await page.waitForSelector('#fan[data-drawn="true"]', { timeout: 120_000 });
    // The diagnostics come after the revenue part, and are the report's (nrr report), in its order.
    await page.waitForSelector('#diagnostics-card[data-drawn="true"]', { timeout: 120_000 });
    const report = await api<{ diagnostics: { message: string }[] }>('/api/report');
    const shownDiagnostics = await page.locator('#diagnostics-card ul.diag li').allTextContents();
    expect(shownDiagnostics).toEqual(report.diagnostics.length ? report.diagnostics.map((d) => d.message) : ['Nothing unusual.']);
    expect(await page.getAttribute('[data-diagnostics-scope]', 'data-diagnostics-scope')).toBe('company');
    expect(await page.locator('#diagnostics-card li[data-scope="filtered"]').count()).toBe(0);
    expect(await page.getAttribute('#fan', 'data-filtered')).toBeNull();

    // The month and window live in the URL; the monthly window has no benchmark selector.
    await page.selectOption('select[data-param="window"]', '1');
    await page.waitForFunction(() => location.search.includes('window=1'));
    await ready();
    const [monthly] = await metrics(ws, { window: 1 });
    expect(await page.textContent('[data-metric="nrr"]')).toBe(pct(monthly!.nrr));
    expect(await page.locator('select[data-param="benchmark"]').count()).toBe(0);
    const [march] = await metrics(ws, { window: 12, month: '2026-03' });
    await open('/overview?month=2026-03');
    expect(await page.textContent('[data-metric="nrr"]')).toBe(pct(march!.nrr));
    expect(await page.inputValue('select[data-param="month"]')).toBe('2026-03');
  });

  it('the tiles open what is behind them: net new MRR its movements (adding up to it), customers the accounts, NRR its slices', async () => {
    const { rows } = await revenueSeries(ws, {});
    const range = rows.slice(-12);
    const netNew = range.reduce((sum, r) => sum.plus(r.net_new.toString()), new Big(0));
    await open('/overview');
    await page.click('[data-drill="net-new"]');
    await navigated('/movements');
    expect(new URL(page.url()).searchParams.get('from')).toBe(range[0]!.month);
    expect(await page.textContent('[data-metric="movement-total"]')).toBe(usd(netNew.toFixed()));
    await page.goBack();
    await navigated('/overview');
    expect(await page.getAttribute('[data-drill="customers"]', 'href')).toBe('/accounts?sort=arr');
    await page.click('[data-drill="nrr"]');
    await navigated('/segments');
    expect(new URL(page.url()).searchParams.get('window')).toBe('12');
  });

  it('comparison with the prior period shows the previous range’s figures', async () => {
    const { rows } = await revenueSeries(ws, {});
    await open('/overview?month=2026-06&from=2026-04&compare=1');
    const march = rows.find((r) => r.month === '2026-03')!;
    // 2026-04…2026-06 is three months: the prior period is 2026-01…2026-03, ending with March's MRR.
    expect(await page.textContent('[data-prior="mrr"]')).toBe(`prior period (2026-01…2026-03): ${usd(march.mrr)}`);
  });

  it('Movements beside the prior period: the totals per category are `nrr movements` of each period summed, and the page shows the API’s', async () => {
    type Total = { amount: string; accounts: number; movements: number };
    type Totals = Record<'new' | 'expansion' | 'reactivation' | 'contraction' | 'churn' | 'net_new', Total> & { net_new: { customers: number } };
    type Answer = { totals: Totals; prior: { from: string; to: string; starts_before_data: boolean; totals: Totals } };
    // The answer before the CLI runs (its seconds would outlast the server's keep-alive).
    const res = await api<Answer>('/api/movements?from=2025-10&to=2025-12&compare=1&limit=1');
    expect([res.prior.from, res.prior.to, res.prior.starts_before_data]).toEqual(['2025-07', '2025-09', false]);
    const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), 'movements', '--as-of', '2026-06', '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // The CLI writes money as JSON numbers with every digit: read them as text, not as floats.
    const moves = JSON.parse(r.stdout.replace(/"delta": (-?\d+(?:\.\d+)?)/g, '"delta": "$1"')) as { account_id: string; month: string; category: string; delta: string }[];
    const summed = (from: string, to: string) => {
      const inRange = moves.filter((m) => m.month >= from && m.month <= to);
      const of = (ms: typeof inRange) => ({ amount: ms.reduce((t, m) => t.plus(m.delta), new Big(0)).toFixed(), accounts: new Set(ms.map((m) => m.account_id)).size, movements: ms.length });
      const byKey = Object.fromEntries(['new', 'expansion', 'reactivation', 'contraction', 'churn'].map((k) => [k, of(inRange.filter((m) => m.category === k))]));
      return { ...byKey, net_new: of(inRange) };
    };
    const amounts = (t: Totals) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { amount: new Big(v.amount).toFixed(), accounts: v.accounts, movements: v.movements }]));
    expect(amounts(res.prior.totals)).toEqual(summed('2025-07', '2025-09'));
    expect(amounts(res.totals)).toEqual(summed('2025-10', '2025-12'));
    expect(res.prior.totals.net_new.movements).toBeGreaterThan(0);

    await open('/movements?from=2025-10&month=2025-12&compare=1');
    expect(await page.isChecked('input[data-param="compare"]')).toBe(true);
    const signed = (m: string) => (new Big(m).gt(0) ? `+${usd(m)}` : usd(m));
    const signedCount = (n: number) => (n > 0 ? `+${n.toLocaleString('en-US')}` : n.toLocaleString('en-US'));
    for (const k of ['new', 'expansion', 'reactivation', 'contraction', 'churn', 'net_new'] as const) {
      const row = page.locator(`#movement-totals tr[data-total="${k}"]`);
      const now = res.totals[k];
      const before = res.prior.totals[k];
      expect(await row.locator('[data-now-amount]').textContent(), k).toBe(usd(now.amount));
      expect(await row.locator('[data-now-accounts]').textContent(), k).toBe(now.accounts.toLocaleString('en-US'));
      expect(await row.locator('[data-prior-amount]').textContent(), k).toBe(usd(before.amount));
      expect(await row.locator('[data-prior-accounts]').textContent(), k).toBe(before.accounts.toLocaleString('en-US'));
      expect(await row.locator('[data-change-amount]').textContent(), k).toBe(signed(new Big(now.amount).minus(before.amount).toFixed()));
      expect(await row.locator('[data-change-accounts]').textContent(), k).toBe(signedCount(now.accounts - before.accounts));
    }
    expect(await page.textContent('[data-metric="movement-total"]')).toBe(usd(res.totals.net_new.amount));
    expect(await page.textContent('[data-metric="net-customers"]')).toBe(signedCount(res.totals.net_new.customers));
    expect(await page.textContent('[data-prior-net-customers]')).toBe(signedCount(res.prior.totals.net_new.customers));
    await page.screenshot({ path: join(SHOTS, 'movements-compare-1440.png') });
    // The table's CSV: exact amounts, the prior period's and the change.
    const csv = await downloadText('[data-csv="movement-totals"]');
    const netLine = csv.text.split('\n').find((l) => l.startsWith('net_new,'))!;
    expect(netLine.split(',').slice(1, 2)).toEqual([res.totals.net_new.amount]);
    // Unticked, the prior period goes (and the URL says so).
    await page.click('input[data-param="compare"]');
    await page.waitForFunction(() => !new URL(location.href).searchParams.has('compare'));
    await ready();
    expect(await page.locator('#movement-totals [data-prior-amount]').count()).toBe(0);
    // A range whose prior period is all before the data says so.
    await open(`/movements?from=${(await api<{ first_month: string }>('/api/summary')).first_month}&month=2026-06&compare=1`);
    expect(await page.locator('[data-no-prior]').count()).toBe(1);
  });

  it('a movement bar opens that month’s movements of that category, which add up to the bar', async () => {
    const { rows } = await revenueSeries(ws, {});
    const month = '2026-05';
    const r = rows.find((x) => x.month === month)!;
    await open(`/overview?month=2026-06`);
    const index = 10; // 2025-07…2026-06: May is the eleventh month
    // Expansion is stacked on new: the middle of its bar is at new + expansion / 2.
    await clickBar('movements-chart', 'expansion', index, Number(r.new.toString()) + Number(r.expansion.toString()) / 2);
    await navigated('/movements');
    expect(new URL(page.url()).searchParams.get('category')).toBe('expansion');
    expect(new URL(page.url()).searchParams.get('month')).toBe(month);
    expect(await page.textContent('[data-metric="movement-total"]')).toBe(usd(r.expansion));
    await showAll('movements-list', Number(await page.getAttribute('#movements-list', 'data-rows')));
    const listed = await page.locator('#movements-list tbody tr[data-amount]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-amount')!));
    expect(listed.reduce((s, a) => s.plus(a), new Big(0)).eq(r.expansion.toString())).toBe(true);
    // Churn in the bridge table: a cell opens the churned accounts of its month.
    await open('/overview?month=2026-06');
    const churnCell = page.locator(`[data-cell="${month}:churn"]`);
    if ((await churnCell.count()) > 0) {
      await churnCell.click();
      await navigated('/movements');
      // Losses are negative amounts in the list, as in the bridge table.
      expect(await page.textContent('[data-metric="movement-total"]')).toBe(usd(new Big(r.churn.toString()).times(-1).toString()));
    }
    // A movement opens its account at that month, with the lines and file rows behind it.
    const first = page.locator('#movements-list tbody tr').first();
    const account = await first.getAttribute('data-account');
    await first.locator('a').first().click();
    await navigated(`/accounts/${account}`);
    expect(await page.locator(`#movements tr.focus`).count()).toBe(1);
    expect(await page.locator('#source-lines [data-row]').count()).toBe((await explainAccount(ws, account!)).lines.length);
    await page.screenshot({ path: join(SHOTS, 'movements-drill-1440.png') });
  });

  it('Segments offers only categorical groups, matches the engine, and a row opens its accounts', async () => {
    const groups = await metrics(ws, { window: 12, by: 'segment' });
    await open('/segments?by=segment&sort=nrr&dir=desc');
    const options = await page.locator('select[data-param="by"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).not.toContain('signup_date');
    expect(options).toContain('segment');
    const rows = page.locator('#segments tbody tr');
    expect(await rows.count()).toBe(groups.length);
    const best = [...groups].filter((g) => g.nrr !== null).sort((a, b) => b.nrr! - a.nrr!)[0]!;
    expect(await rows.first().locator('td').first().textContent()).toContain(best.group);
    expect(await rows.first().locator('[data-nrr]').textContent()).toBe(pct(best.nrr));
    expect(await page.locator('#segments [data-flag="small_group"]').count()).toBe(groups.filter((g) => g.small_group).length);
    // Compared with the prior period: the same window a year earlier, per group.
    const before = await metrics(ws, { window: 12, month: '2025-06', by: 'segment' });
    await open('/segments?by=segment&sort=nrr&dir=desc&compare=1');
    expect(await rows.first().locator('[data-prior-nrr]').textContent()).toBe(pct(before.find((g) => g.group === best.group)?.nrr ?? null));
    await rows.first().locator('a').first().click();
    await navigated('/accounts');
    expect(new URL(page.url()).searchParams.get('segment')).toBe(best.group);
    const res = await api<{ total: number }>(`/api/accounts?segment=${encodeURIComponent(best.group!)}&limit=1`);
    expect(await page.textContent('#page h1 + .muted')).toContain(`${res.total.toLocaleString('en-US')} current accounts`);
  });

  it('a filter applies across pages and is kept by the navigation', async () => {
    await open('/overview?segment=enterprise');
    const { rows } = await revenueSeries(ws, { where: { segment: 'enterprise' } });
    const last = rows[rows.length - 1]!;
    expect(await page.textContent(`[data-mrr="${last.month}"]`)).toBe(usd(last.mrr));
    expect(await page.getAttribute('#nav a[href^="/cohorts"]', 'href')).toBe('/cohorts?segment=enterprise');
    await page.click('#nav a[href^="/cohorts"]');
    await navigated('/cohorts');
    expect(await page.locator('.chip[data-clear="segment"]').count()).toBe(1);
    await page.click('.chip[data-clear="segment"]');
    await page.waitForFunction(() => !location.search.includes('segment'));
    await ready();
  });

  it('filters reach the trend, the cohorts of a month, renewals and books, with the CLI’s numbers', async () => {
    // Overview's T12M NRR at the chosen month follows the filter: nrr metrics --where for that month.
    const month = '2026-03';
    const [enterprise] = await metrics(ws, { month, window: 12, where: { segment: 'enterprise' } });
    const [company] = await metrics(ws, { month, window: 12 });
    expect(enterprise!.nrr).not.toBe(company!.nrr);
    await open(`/overview?month=${month}&segment=enterprise`);
    await page.waitForSelector('#trend[data-drawn="true"]', { timeout: 120_000 });
    const trend = await page.evaluate(() => {
      const c = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { xAxis: { data: string[] }[]; series: { data: (number | null)[] }[] } } } }).echarts.getInstanceByDom(document.getElementById('trend')!);
      const o = c.getOption();
      return { months: o.xAxis[0]!.data, nrr: o.series[0]!.data };
    });
    expect(trend.months.at(-1)).toBe(month);
    expect(trend.nrr.at(-1)).toBe(+(enterprise!.nrr! * 100).toFixed(2));
    // The forecast fan and the diagnostics follow the filter too, and say which accounts they are of.
    await page.waitForSelector('#fan[data-drawn="true"]', { timeout: 120_000 });
    const fc = await api<{ account_count: number; ending_mrr: { p10: string; p50: string; p90: string }; filter: { accounts: number; company_accounts: number } }>('/api/forecast?horizon=90&accounts=none&segment=enterprise');
    const companyFc = await api<{ account_count: number }>('/api/forecast?horizon=90&accounts=none');
    expect(fc.filter.company_accounts).toBe(companyFc.account_count);
    expect(fc.account_count).toBeLessThan(companyFc.account_count);
    expect(await page.getAttribute('#fan', 'data-filtered')).toBe('true');
    expect(await page.getAttribute('#fan', 'data-accounts')).toBe(String(fc.account_count));
    expect(await page.textContent('#forecast-card h2')).toBe('Forecast: MRR of today’s customers, only segment = enterprise');
    expect(await page.textContent('#forecast-card .note')).toContain(`the ${fc.account_count} of ${fc.filter.company_accounts} accounts with MRR that have segment = enterprise (the model is fitted on the whole company’s history`);
    const fan = await page.evaluate(() => {
      const c = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { series: { name: string; data: (number | null)[] }[] } } } }).echarts.getInstanceByDom(document.getElementById('fan')!);
      return c.getOption().series.find((x) => x.name === 'P50')!.data.at(-1);
    });
    expect(fan).toBe(Number(fc.ending_mrr.p50));
    await page.waitForSelector('#diagnostics-card[data-drawn="true"]', { timeout: 120_000 });
    const diag = await api<{ accounts: number; starting_accounts: number; retained_accounts: number; as_of: string; diagnostics: { message: string; scope: string }[] }>('/api/diagnostics?segment=enterprise');
    expect(await page.textContent('#diagnostics-card h2')).toBe('Diagnostics of segment = enterprise');
    expect(await page.textContent('[data-diagnostics-scope="filtered"]')).toBe(
      `Of the ${diag.accounts} accounts with segment = enterprise: ${diag.starting_accounts} paid at the start of the trailing twelve months to ${diag.as_of}, ${diag.retained_accounts} of them still pay.`,
    );
    expect(await page.locator('#diagnostics-card ul.diag li').allTextContents()).toEqual(diag.diagnostics.length ? diag.diagnostics.map((d) => d.message) : ['Nothing unusual.']);
    expect(await page.locator('#diagnostics-card li[data-scope="company"]').count()).toBe(0);

    // Cohorts as of an earlier month, filtered: nrr cohorts --as-of --where.
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), ...args, '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as unknown;
    };
    const cohorts = cli('cohorts', '--granularity', 'quarter', '--as-of', '2025-06', '--where', 'segment=smb') as { cohort: string; accounts: number; starting_mrr: string | number }[];
    await open('/cohorts?granularity=quarter&month=2025-06&segment=smb');
    const rows = page.locator('#cohorts tbody tr');
    expect(await rows.count()).toBe(cohorts.length);
    for (const [i, c] of cohorts.entries()) {
      const cells = await rows.nth(i).locator('td').allTextContents();
      expect([cells[0]!.trim().split(' ')[0], cells[1], cells[2]], c.cohort).toEqual([c.cohort, c.accounts.toLocaleString('en-US'), usd(String(c.starting_mrr))]);
    }

    // Renewals and books of one region: nrr renewals --where and nrr book --where.
    const s = await api<{ as_of_date: string }>('/api/summary');
    const from = s.as_of_date.slice(0, 7);
    const [y, m] = from.split('-').map(Number) as [number, number];
    const to = new Date(Date.UTC(y, m - 1 + 5, 1)).toISOString().slice(0, 7);
    const renewals = cli('renewals', '--as-of', s.as_of_date, '--from', from, '--to', to, '--where', 'region=EMEA') as { by_month: { month: string; accounts: number; arr: string | number }[]; rows: unknown[] };
    await open(`/renewals?from=${from}&to=${to}&region=EMEA`);
    expect(await page.textContent('[data-metric="renewals"]')).toBe(renewals.rows.length.toLocaleString('en-US'));
    await showAll('renewals', renewals.rows.length);
    expect(await page.locator('#renewals tbody tr').count()).toBe(renewals.rows.length);
    for (const b of renewals.by_month) expect(await page.textContent(`[data-month-arr="${b.month}"]`), b.month).toBe(usd(String(b.arr)));
    const book = cli('book', '--as-of', s.as_of_date, '--where', 'region=EMEA') as { owner: string; accounts: number; arr: string | number }[];
    await open('/book?region=EMEA');
    expect(await page.locator('#book tbody tr').count()).toBe(book.length);
    for (const b of book) expect(await page.textContent(`#book tr[data-owner="${b.owner}"] [data-arr]`), b.owner).toBe(usd(String(b.arr)));
  }, 180_000);

  it('Accounts as of a past month: the accounts, ARR and scores of nrr accounts --as-of that month', async () => {
    type ApiAccounts = { as_of: string; total: number; probabilities: { status: string }; rows: { account_id: string; arr: string; tier: string; health_colour: string | null; churn_risk: number | null }[] };
    const res = await api<ApiAccounts>('/api/accounts?month=2025-12&sort=arr&limit=100000');
    const now = await api<ApiAccounts>('/api/accounts?sort=arr&limit=1');
    const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), 'accounts', '--as-of', '2025-12', '--sort', 'arr', '--no-probabilities', '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 29 });
    expect(r.status, r.stderr).toBe(0);
    // JSON holds whole records: the list's columns are read out of them.
    const want = (JSON.parse(r.stdout) as { record: { account_id: string; arr: string | number }; tier: string; health: { colour: string | null }; risk: { score: number | null } }[]).map((a) => ({
      account_id: a.record.account_id,
      arr: a.record.arr,
      tier: a.tier,
      colour: a.health.colour,
      risk: a.risk.score === null ? null : a.risk.score.toFixed(1),
    }));
    expect([res.as_of, res.probabilities.status]).toEqual(['2025-12-31', 'unavailable']);
    // Another list than today's: the month picked, not the server's day relabelled.
    expect(res.total).not.toBe(now.total);
    const cents = (m: string | number): string => new Big(String(m)).round(2).toFixed(2);
    expect(res.rows.map((a) => [a.account_id, cents(a.arr), a.tier, a.health_colour, a.churn_risk === null ? null : a.churn_risk.toFixed(1)])).toEqual(
      want.map((a) => [a.account_id, cents(a.arr), a.tier, a.colour, a.risk]),
    );
    await open('/accounts?month=2025-12&sort=arr');
    expect(await page.textContent('[data-accounts-as-of]')).toBe('2025-12-31');
    expect(await page.textContent('[data-accounts-total]')).toBe(want.length.toLocaleString('en-US'));
    const shown = await page.locator('#accounts tbody tr[data-account]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-account')));
    expect(shown).toEqual(want.slice(0, 50).map((a) => a.account_id));
    for (const a of want.slice(0, 5)) expect(await page.textContent(`#accounts tr[data-account="${a.account_id}"] [data-arr]`), a.account_id).toBe(usd(String(a.arr)));
    // Back to the reporting month with the picker: the server's day again.
    await page.evaluate(() => (document.body.dataset['ready'] = 'false'));
    await page.selectOption('select[data-param="month"]', '2026-06');
    await ready();
    expect(await page.textContent('[data-accounts-as-of]')).toBe(now.as_of);
  }, 180_000);

  it('Book of a chosen month and period, with the prior period: the numbers of nrr book --from --to', async () => {
    type CliBook = { owner: string; accounts: number; arr: string | number; renewals_90d: number; churned_accounts: number; churned_mrr: string | number; expanded_accounts: number; expansion_mrr: string | number };
    const cliBook = (...args: string[]): CliBook[] => {
      const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), 'book', ...args, '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as CliBook[];
    };
    type ApiBook = { as_of: string; from: string; to: string; scores: { status: string }; rows: { owner: string; accounts: number; arr: string; renewals_90d: number; renewals_90d_arr: string; churned_accounts: number; churned_mrr: string; expanded_accounts: number; expansion_mrr: string }[] };
    // A quarter before the reporting month: the book of its last day, scored by the CLI (as --as-of), from the lines on the server.
    // Both answers before the CLI runs (its seconds would outlast the server's keep-alive).
    const period = await api<ApiBook>('/api/book?from=2025-10&to=2025-12');
    const churn = await api<{ total: number; rows: { amount: string }[] }>('/api/movements?from=2025-10&to=2025-12&category=churn&limit=100000');
    expect([period.as_of, period.from, period.to, period.scores.status]).toEqual(['2025-12-31', '2025-10', '2025-12', 'unscored']);
    const want = cliBook('--from', '2025-10', '--to', '2025-12');
    // To the cent: the CLI's scored records and the server's lines-only rows agree there (their last digits, 1e-12, may not).
    const cents = (m: string | number): string => new Big(String(m)).round(2).toFixed(2);
    const key = (r: CliBook | ApiBook['rows'][number]) => [r.owner, r.accounts, cents(r.arr), r.renewals_90d, r.churned_accounts, cents(r.churned_mrr), r.expanded_accounts, cents(r.expansion_mrr)];
    expect(period.rows.map(key)).toEqual(want.map(key));
    expect(want.reduce((n, r) => n + r.churned_accounts, 0), 'some accounts churned in the quarter').toBeGreaterThan(0);
    // Invariant: the owners' churned MRR adds up to the quarter's churn movements.
    const byOwner = period.rows.reduce((a, r) => a.plus(r.churned_mrr), new Big(0));
    expect(byOwner.eq(churn.rows.reduce((a, r) => a.minus(r.amount), new Big(0)))).toBe(true);
    const prior = cliBook('--from', '2025-07', '--to', '2025-09');

    await open('/book?from=2025-10&month=2025-12&compare=1');
    expect(await page.textContent('[data-book-as-of]')).toBe('2025-12-31');
    expect(await page.textContent('[data-book-period]')).toBe('2025-10 to 2025-12');
    expect(await page.locator('[data-scores-status="unscored"]').count()).toBe(1);
    expect(await page.textContent('[data-metric="book-arr-at-risk"]')).toBe('not scored');
    expect(await page.locator('#book tbody tr').count()).toBe(want.length);
    for (const b of want) {
      const row = `#book tr[data-owner="${b.owner}"]`;
      expect(await page.textContent(`${row} [data-arr]`), b.owner).toBe(usd(String(b.arr)));
      expect(await page.textContent(`${row} [data-churned]`), b.owner).toBe(String(b.churned_accounts));
      expect(await page.textContent(`${row} [data-churned-mrr]`), b.owner).toBe(usd(String(b.churned_mrr)));
      expect(await page.textContent(`${row} [data-expansion-mrr]`), b.owner).toBe(usd(String(b.expansion_mrr)));
      const p = prior.find((x) => x.owner.toLowerCase() === b.owner.toLowerCase());
      expect(await page.textContent(`${row} [data-prior-arr]`), b.owner).toBe(usd(String(p?.arr ?? 0)));
      expect(await page.textContent(`${row} [data-prior-churned]`), b.owner).toBe(String(p?.churned_accounts ?? 0));
    }
    // The month picker moves the book's day; the URL keeps it.
    await page.evaluate(() => (document.body.dataset['ready'] = 'false'));
    await page.selectOption('select[data-param="month"]', '2026-03');
    await ready();
    expect(new URL(page.url()).searchParams.get('month')).toBe('2026-03');
    expect(await page.textContent('[data-book-as-of]')).toBe('2026-03-31');
    const march = cliBook('--from', '2025-10', '--to', '2026-03');
    for (const b of march) expect(await page.textContent(`#book tr[data-owner="${b.owner}"] [data-arr]`), b.owner).toBe(usd(String(b.arr)));
    await page.screenshot({ path: join(SHOTS, 'book-period-1440.png'), fullPage: true });
  }, 180_000);

  it('Cohorts draws a heatmap that grows with its rows, and a row opens the cohort', async () => {
    const cohorts = await cohortTable(ws, 'month');
    await open('/cohorts?granularity=month');
    expect(await page.getAttribute('#heatmap', 'data-cohorts')).toBe(String(cohorts.length));
    const height = await page.$eval('#heatmap', (el) => el.getBoundingClientRect().height);
    expect(height).toBeGreaterThanOrEqual(cohorts.length * 22);
    expect(await page.locator('#cohorts [data-flag="small_group"]').count()).toBe(cohorts.filter((c) => c.small_group).length);
    // A row opens the cohort's accounts: as many as the cohort table counts.
    const big = [...cohorts].sort((a, b) => b.accounts - a.accounts)[0]!;
    await page.locator(`#cohorts a[href^="/cohorts/${big.cohort}?"]`).click();
    await navigated(`/cohorts/${big.cohort}`);
    expect(await page.textContent('[data-metric="cohort-accounts"]')).toBe(big.accounts.toLocaleString('en-US'));
    expect(await page.locator('#cohort-accounts tbody tr').count()).toBe(big.accounts);
  });

  it('Accounts sorts, filters and exports every matching account with owners; an account shows its numbers', async () => {
    const scored = await scoreAccounts(ws, {});
    const byArr = [...scored].sort((a, b) => b.record.arr.cmp(a.record.arr));
    await open('/accounts?sort=arr');
    const first = page.locator('#accounts tbody tr').first();
    const id = byArr[0]!.record.account_id;
    expect(await first.getAttribute('data-account')).toBe(id);
    expect(await first.locator('[data-arr]').textContent()).toBe(usd(byArr[0]!.record.arr));
    const csv = await downloadText('[data-csv="accounts"]');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('account,name,tier,ARR,health,risk,top risk reason,readiness,top expansion reason,renewal,CSM,AM');
    expect(lines.length - 1).toBe(scored.length);
    expect(lines[1]!.startsWith(`${id},`)).toBe(true);
    expect(lines[1]).toContain(`,${byArr[0]!.record.arr.toString()},`);

    await page.selectOption('select[data-param="health"]', 'red');
    await page.waitForFunction(() => location.search.includes('health=red'));
    await ready();
    expect(await page.locator('#accounts tbody tr').count()).toBe(Math.min(50, scored.filter((s) => s.health.colour === 'red').length));

    await open('/accounts?sort=arr');
    await page.locator('#accounts tbody tr').first().locator('a').first().click();
    await navigated(`/accounts/${id}`);
    expect(await page.textContent('[data-metric="account-arr"]')).toBe(usd(byArr[0]!.record.arr));
    const explained = await explainAccount(ws, id);
    expect(await page.locator('#movements tbody tr').count()).toBe(explained.movements.length);
    expect(await page.locator('#history canvas').count()).toBe(1);
    await page.waitForSelector('[data-metric="churn-probability"][data-done="true"]', { timeout: 120_000 });
    expect(await page.textContent('[data-metric="churn-probability"]')).toMatch(/^\d+\.\d%$|^—$/);
    await page.goBack();
    await navigated('/accounts');
  });

  it('Renewals, Book and the Account timeline and history show what the API serves', async () => {
    interface Renewals { total: number; by_month: { month: string; accounts: number; arr: string; arr_at_risk: string }[]; rows: { account_id: string }[] }
    const s = await api<{ as_of_date: string }>('/api/summary');
    const from = s.as_of_date.slice(0, 7);
    const [y, m] = from.split('-').map(Number) as [number, number];
    const to = new Date(Date.UTC(y, m - 1 + 5, 1)).toISOString().slice(0, 7);
    const r = await api<Renewals>(`/api/renewals?from=${from}&to=${to}`);
    await open('/renewals');
    expect(await page.textContent('[data-metric="renewals"]')).toBe(r.total.toLocaleString('en-US'));
    expect(r.by_month.length).toBeGreaterThan(0);
    for (const b of r.by_month) {
      // The page sums each month exactly from the rows; the server's by_month must agree.
      expect(await page.textContent(`[data-month-arr="${b.month}"]`), b.month).toBe(usd(b.arr));
      expect(await page.textContent(`[data-month-risk="${b.month}"]`), b.month).toBe(usd(b.arr_at_risk));
    }
    await showAll('renewals', r.rows.length);
    expect(await page.locator('#renewals tbody tr').count()).toBe(r.rows.length);
    const csv = await downloadText('[data-csv="renewals-by-month"]');
    // Exact decimal text (the same value; the page's sum may keep a trailing zero the server drops).
    const arrs = csv.text.trim().split('\r\n').slice(1).map((l) => l.split(',')[2]!);
    expect(arrs.length).toBe(r.by_month.length);
    arrs.forEach((a, i) => expect(new Big(a).eq(r.by_month[i]!.arr), `${a} = ${r.by_month[i]!.arr}`).toBe(true));

    // Beside the prior period: its renewals as the book stood six months before the day, as `nrr renewals --as-of` then prints them.
    const compared = await api<Renewals & { prior: { from: string; to: string; as_of: string; accounts: number; arr: string } }>(`/api/renewals?from=${from}&to=${to}&compare=1`);
    const cliPrior = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), 'renewals', '--as-of', compared.prior.as_of, '--from', compared.prior.from, '--to', compared.prior.to, '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8' });
    expect(cliPrior.status, cliPrior.stderr).toBe(0);
    // The CLI writes money as JSON numbers with every digit: read them as text, not as floats.
    const priorRows = (JSON.parse(cliPrior.stdout.replace(/"arr": (-?\d+(?:\.\d+)?)/g, '"arr": "$1"')) as { rows: { arr: string }[] }).rows;
    expect(priorRows.length).toBeGreaterThan(0);
    expect([compared.prior.accounts, new Big(compared.prior.arr).toFixed()]).toEqual([priorRows.length, priorRows.reduce((t, x) => t.plus(x.arr), new Big(0)).toFixed()]);
    await open(`/renewals?from=${from}&to=${to}&compare=1`);
    expect(await page.textContent('[data-prior-renewals]')).toBe(compared.prior.accounts.toLocaleString('en-US'));
    expect(await page.textContent('[data-prior-arr]')).toBe(usd(compared.prior.arr));
    const renewing = r.by_month.reduce((t, b) => t.plus(b.arr), new Big(0));
    const change = renewing.minus(compared.prior.arr);
    expect(await page.textContent('[data-change-arr]')).toBe(change.gt(0) ? `+${usd(change.toFixed())}` : usd(change.toFixed()));
    await page.screenshot({ path: join(SHOTS, 'renewals-compare-1440.png') });

    const book = await api<{ total: number; rows: { owner: string; arr: string }[] }>('/api/book');
    await open('/book');
    expect(await page.locator('#book tbody tr').count()).toBe(book.total);
    expect(await page.textContent(`#book tr[data-owner="${book.rows[0]!.owner}"] [data-arr]`)).toBe(usd(book.rows[0]!.arr));

    const id = r.rows[0]!.account_id;
    const timeline = await api<{ total: number }>(`/api/accounts/${id}/timeline`);
    await open(`/accounts/${id}`);
    await showAll('timeline', timeline.total);
    expect(await page.locator('#timeline tbody tr[data-kind]').count()).toBe(timeline.total);
    expect(await page.locator('#health-history canvas').count()).toBe(1);
    expect(await page.locator('#usage-history canvas').count()).toBe(1);
  });

  it('a chart downloads as PNG', async () => {
    await open('/overview');
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('[data-png="mrr-chart"]')]);
    expect(d.suggestedFilename()).toBe('mrr-arr.png');
    const bytes = readFileSync(await d.path());
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
  });

  it('Playbooks shows open tasks per play as in the play state, and the backtest', async () => {
    const s = await PlaybookState.open(statePath(ws.dataDir, ws.scoring.playbookSettings));
    const open_ = await s.tasks({ status: 'open' });
    s.close();
    await open('/playbooks');
    for (const p of ws.scoring.playbooks) {
      expect(await page.textContent(`[data-open="${p.name}"]`), p.name).toBe(String(open_.filter((t) => t.playbook === p.name).length));
    }
    await page.waitForSelector('#backtest-table');
    expect(await page.locator('#backtest-table tbody tr').count()).toBe(ws.scoring.playbooks.length);
  });

  it('unknown paths show the 404 view; /tasks and /renewals are pages', async () => {
    await open('/no-such-page');
    expect(await page.locator('[data-not-found]').count()).toBe(1);
    // An unknown account is a 404 view of its own, with the server's closest ids as links that open.
    await open('/accounts/A00000X');
    expect(await page.textContent('[data-not-found]')).toBe('Account not found');
    const closest = await page.locator('#page a[href^="/accounts/A"]').allTextContents();
    expect(closest.length).toBeGreaterThan(0);
    await page.click(`#page a[href="/accounts/${closest[0]}"]`);
    await navigated(`/accounts/${closest[0]}`);
    expect(await page.textContent('[data-account-name]')).toContain(closest[0]!);
    for (const path of ['/tasks', '/renewals']) {
      const res = await fetch(`${base()}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<main id="page"');
      await page.goto(`${base()}${path}`);
      await ready();
      expect(await page.locator('[data-not-found]').count(), path).toBe(0);
      expect(await page.textContent('#nav a.active')).toBe(path === '/tasks' ? 'Tasks' : 'Renewals');
    }
  });

  it('works by keyboard: the skip link, the navigation and a visible focus', async () => {
    await open('/overview');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip');
    await page.keyboard.press('Tab'); // the brand
    await page.keyboard.press('Tab'); // Overview
    await page.keyboard.press('Tab'); // Segments
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Segments');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).toBe('solid');
    await page.keyboard.press('Enter');
    await navigated('/segments');
  });

  it('every page at 1440 and 390 px: screenshots, and nothing wider than a phone', async () => {
    const id = (await api<{ rows: { account_id: string }[] }>('/api/accounts?sort=arr&limit=1')).rows[0]!.account_id;
    const pages: [string, string][] = [
      ['overview', '/overview'],
      ['segments', '/segments?by=segment'],
      ['cohorts', '/cohorts?granularity=quarter'],
      ['accounts', '/accounts?sort=arr'],
      ['account', `/accounts/${id}`],
      ['movements', '/movements?month=2026-05&category=expansion'],
      ['tasks', '/tasks?view=all'],
      ['renewals', '/renewals'],
      ['book', '/book'],
      ['playbooks', '/playbooks'],
      ['not-found', '/no-such-page'],
    ];
    for (const width of [1440, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      for (const [name, path] of pages) {
        await page.goto(`${base()}${path}`);
        await ready();
        if (name === 'overview') {
          await page.waitForSelector('#trend[data-drawn="true"]', { timeout: 120_000 }).catch(() => undefined);
          await page.waitForSelector('#fan[data-drawn="true"]', { timeout: 120_000 }).catch(() => undefined);
        }
        const file = join(SHOTS, `${name}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true });
        if (width === 390) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow, `${name} is wider than 390 px`).toBeLessThanOrEqual(0);
        } else if (process.env['NRR_DOC_IMAGES'] === '1') {
          // The docs keep the first screen of each page (small PNGs).
          mkdirSync(DOC_IMAGES, { recursive: true });
          const doc = join(DOC_IMAGES, `dashboard-${name}.png`);
          await page.screenshot({ path: join(SHOTS, `${name}-doc.png`) });
          copyFileSync(join(SHOTS, `${name}-doc.png`), doc);
          expect(statSync(doc).size, doc).toBeLessThanOrEqual(200 * 1024);
        }
      }
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  }, 240_000);

  it('no page logged an error', () => {
    expect(errors).toEqual([]);
  });
});
