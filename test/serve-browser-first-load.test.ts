import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, generateCompany } from '../src/index.js';
import type { RunningServer } from '../src/serve/start-server.js';
import { closeServed, haveChromium, serveInChromium } from './helpers/chromium.js';

/**
 * A reader's first visit (a new browser context, nothing cached): what the page asks the server
 * and in what order. The summary and the attributes are preloaded by the page, so each is asked
 * for once; the Account page asks for its own data without waiting for the summary. The summary's
 * answer is held in the browser to check the order, never a time.
 */
const haveBrowser = haveChromium('the first-load browser tests');

let dir = '';
let ws: Workspace;
let server: RunningServer;
let browser: Browser;
const base = (): string => server.url.replace(/\/$/, '');
const topAccount = async (): Promise<string> => ((await (await fetch(`${base()}/api/accounts?sort=arr&limit=1`)).json()) as { rows: { account_id: string }[] }).rows[0]!.account_id;

describe.skipIf(!haveBrowser)('a first visit to the dashboard', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nrr-browser-first-'));
    await generateCompany({ out: dir, accounts: 120, months: 24, seed: 7, end: '2026-06' });
    ws = await Workspace.open({ data: dir, policies: { as_of: '2026-06' } });
    ({ server, browser } = await serveInChromium(ws));
  }, 180_000);
  afterAll(async () => {
    await closeServed({ browser, server, ws, dir });
  });

  it('asks for the summary and the attributes once each, Overview and Account alike', async () => {
    for (const path of ['/overview', `/accounts/${encodeURIComponent(await topAccount())}`]) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      try {
        const page = await context.newPage();
        const asked: string[] = [];
        page.on('request', (r) => asked.push(new URL(r.url()).pathname));
        await page.goto(`${base()}${path}`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
        expect(await page.locator('#page .error').count()).toBe(0);
        expect(asked.filter((p) => p === '/api/summary')).toHaveLength(1);
        expect(asked.filter((p) => p === '/api/attributes')).toHaveLength(1);
        // Asked for by the page's head (its preloads), not by the script once it has run.
        const by = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => /\/api\/(summary|attributes)$/.test(e.name)).map((e) => (e as PerformanceResourceTiming).initiatorType));
        expect(by).toEqual(['link', 'link']);
      } finally {
        await context.close();
      }
    }
  }, 120_000);

  it('the Account page asks for its data while the summary is held, and draws it once the summary comes', async () => {
    const id = await topAccount();
    const name = ((await (await fetch(`${base()}/api/accounts/${encodeURIComponent(id)}`)).json()) as { explanation: { attributes: { name: string } } }).explanation.attributes.name;
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      let release: () => void = () => undefined;
      const released = new Promise<void>((r) => (release = r));
      await page.route('**/api/summary', async (route: Route) => {
        await released;
        await route.continue();
      });
      const detail = page.waitForRequest((r) => new URL(r.url()).pathname === `/api/accounts/${id}`, { timeout: 60_000 });
      const timeline = page.waitForRequest((r) => new URL(r.url()).pathname === `/api/accounts/${id}/timeline`, { timeout: 60_000 });
      await page.goto(`${base()}/accounts/${encodeURIComponent(id)}`);
      await Promise.all([detail, timeline]);
      // Its requests went out; the page is not shown while the summary (currency, policies) is held.
      expect(await page.getAttribute('body', 'data-ready')).toBe('false');
      release();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      expect(await page.locator('#page .error').count()).toBe(0);
      expect(await page.textContent('[data-account-name]')).toContain(name);
      expect(await page.textContent('[data-metric="account-arr"]')).toMatch(/^\$[\d,]+\.\d\d$|not a customer/);
    } finally {
      await context.close();
    }
  }, 120_000);
});
