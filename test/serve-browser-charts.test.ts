import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, generateCompany } from '../src/index.js';
import { revenueSeries } from '../src/queries/series-queries.js';
import type { RunningServer } from '../src/serve/start-server.js';
import { closeServed, haveChromium, serveInChromium } from './helpers/chromium.js';

/**
 * The chart library is not in the page's head: a page's figures are shown before it has come, its
 * charts are drawn when it comes, and a page whose library cannot be had still shows its figures
 * and says the chart is not drawn. The library's request is held (then let through to the real
 * server) or refused in the browser, so the order is checked, never a time.
 */
const haveBrowser = haveChromium('the chart-loading browser tests');

let dir = '';
let ws: Workspace;
let server: RunningServer;
let browser: Browser;
const base = (): string => server.url.replace(/\/$/, '');

describe.skipIf(!haveBrowser)('the chart library, loaded after the figures', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nrr-browser-charts-'));
    await generateCompany({ out: dir, accounts: 120, months: 24, seed: 5, end: '2026-06' });
    ws = await Workspace.open({ data: dir, policies: { as_of: '2026-06' } });
    ({ server, browser } = await serveInChromium(ws));
  }, 180_000);
  afterAll(async () => {
    await closeServed({ browser, server, ws, dir });
  });

  it('Overview shows its figures while the library is held, and draws its charts once it comes', async () => {
    const { rows } = await revenueSeries(ws, {});
    const customers = rows[rows.length - 1]!.customers.toLocaleString('en-US');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      let release: () => void = () => undefined;
      const released = new Promise<void>((r) => (release = r));
      let asked = 0;
      await page.route('**/vendor/echarts.min.js', async (route: Route) => {
        asked++;
        await released;
        await route.continue();
      });
      await page.goto(`${base()}/overview`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      // The figures are there and the library has been asked for, not yet had: no chart is drawn.
      expect(await page.textContent('[data-metric="customers"]')).toBe(customers);
      expect(asked).toBe(1);
      expect(await page.evaluate(() => typeof (window as { echarts?: unknown }).echarts)).toBe('undefined');
      expect(await page.getAttribute('#mrr-chart', 'data-chart')).toBe('pending');
      expect(await page.locator('#mrr-chart canvas').count()).toBe(0);
      release();
      await page.waitForSelector('#mrr-chart[data-chart="drawn"]', { timeout: 60_000 });
      expect(await page.locator('#mrr-chart canvas').count()).toBe(1);
      expect(await page.locator('#movements-chart canvas').count()).toBe(1);
      // Asked for once for every chart of the page.
      expect(asked).toBe(1);
      // A chart's click handler, given before the library came, works once it is drawn: a bar opens its month's movements.
      await page.locator('#movements-chart').scrollIntoViewIfNeeded();
      const at = await page.evaluate(() => {
        const el = document.getElementById('movements-chart')!;
        const c = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { convertToPixel(f: object, v: number[]): number[]; getOption(): { series: { id: string; data: (number | null)[] }[] } } } }).echarts.getInstanceByDom(el);
        const series = c.getOption().series.find((s) => s.id === 'new')!;
        const i = series.data.findIndex((v) => (v ?? 0) > 0);
        const [x, y] = c.convertToPixel({ seriesId: 'new' }, [i, series.data[i]! / 2]);
        const r = el.getBoundingClientRect();
        return { x: r.left + x!, y: r.top + y! };
      });
      await page.mouse.click(at.x, at.y);
      await page.waitForFunction(() => location.pathname === '/movements', null, { timeout: 60_000 });
      expect(new URL(page.url()).searchParams.get('category')).toBe('new');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a page whose library cannot be had still shows its figures and says its charts are not drawn', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      await page.route('**/vendor/echarts.min.js', (route: Route) => route.abort());
      await page.goto(`${base()}/overview`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      await page.waitForSelector('#mrr-chart[data-chart="failed"]', { timeout: 60_000 });
      expect(await page.textContent('#mrr-chart')).toContain('Chart not drawn: the chart library (/vendor/echarts.min.js) could not be loaded');
      expect(await page.locator('#page canvas').count()).toBe(0);
      expect(Number((await page.textContent('[data-metric="customers"]'))!.replace(/,/g, ''))).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  }, 120_000);
});
