// Each dashboard page's first data in Chromium, against a running server (nrr serve):
//   npm run build && node scripts/dashboard-page-timings.mjs http://127.0.0.1:4317 [--chromium /usr/bin/chromium] [--routes]
// Prints one line per page: milliseconds from navigation until the page marks its data shown
// (body[data-ready="true"]), and for Overview and Account also until the forecast is drawn; then
// what of it was the server's: the slowest API answer's wall time and the CPU time of all the
// page's answers (the Server-Timing header, process CPU while each answer was computed), and the
// browser's time after its last answer came (drawing). With --routes, one line per API call too.
// Run it twice to see cold (first computation) and warm (cached) answers; note `uptime` beside it.
// With --fresh, each page is opened in a new browser context (an empty cache: every script and the
// chart library are fetched and compiled again), as a reader's first visit is; without it, the pages
// are opened one after another in one browser, as a reader moving between them. Each line then also
// says when the page's charts were drawn (the chart library comes after the figures).
/* global document -- the functions given to waitForFunction run in the page */
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const base = (args.find((a) => a.startsWith('http')) ?? 'http://127.0.0.1:4317').replace(/\/$/, '');
const at = args.indexOf('--chromium');
const executablePath = at >= 0 ? args[at + 1] : '/usr/bin/chromium';
const perRoute = args.includes('--routes');
const fresh = args.includes('--fresh');
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
let context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
let page = await context.newPage();
const summary = await (await fetch(`${base}/api/summary`)).json();
const top = (await (await fetch(`${base}/api/accounts?sort=arr&limit=1`)).json()).rows[0]?.account_id;
const m = summary.as_of_month;
const pages = [
  '/overview',
  `/overview?month=${m}&segment=${encodeURIComponent((await (await fetch(`${base}/api/attributes`)).json()).find((a) => a.name === 'segment')?.values[0]?.value ?? '')}`,
  '/segments?by=segment',
  '/cohorts?granularity=month',
  '/accounts?sort=arr',
  `/accounts/${encodeURIComponent(top)}`,
  `/movements?month=${m}&category=churn`,
  '/tasks?view=all',
  '/renewals',
  '/book',
  '/playbooks',
];

/**
 * The API answers of the page being timed: path, server wall and CPU (Server-Timing), when each
 * came (ms after navigation started). Read from the page's own resource timings once it is shown,
 * so that timing it costs the page nothing (a listener per response would cost a round trip to
 * the browser each, and did inflate fresh pages by up to a second under load).
 */
const apiCalls = () =>
  page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => new URL(e.name).pathname.startsWith('/api/'))
      .map((e) => {
        const dur = (name) => e.serverTiming.find((t) => t.name === name)?.duration ?? NaN;
        const url = new URL(e.name);
        return { path: `${url.pathname}${url.search}`, app: dur('app'), cpu: dur('cpu'), came: e.responseEnd };
      }),
  );

const ms = (x) => (Number.isFinite(x) ? x.toFixed(0) : '?').padStart(6);
process.stdout.write(`${summary.accounts} accounts, reporting month ${m}\n`);
process.stdout.write(fresh ? 'each page in a new browser context (nothing cached)\n' : 'the pages one after another in one browser\n');
for (const path of pages) {
  if (fresh) {
    await context.close();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
  }
  const t0 = performance.now();
  await page.goto(`${base}${path}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 600_000 });
  const shown = performance.now() - t0;
  const calls = await apiCalls();
  const error = await page.$eval('#page', (el) => el.querySelector('.error')?.textContent ?? '');
  // The answers that came before the page was shown are the ones it waited for.
  const before = calls.filter((c) => c.came <= shown);
  const slowest = before.reduce((a, c) => (c.app > (a?.app ?? -1) ? c : a), null);
  const cpu = before.reduce((s, c) => s + (Number.isFinite(c.cpu) ? c.cpu : 0), 0);
  const last = before.reduce((s, c) => Math.max(s, c.came), 0);
  await page.waitForFunction(() => !document.querySelector('[data-chart="pending"]'), null, { timeout: 600_000 });
  let extra = ` | charts ${ms(performance.now() - t0)} ms`;
  if (path.startsWith('/overview') && !path.includes('segment=')) {
    await page.waitForSelector('#fan[data-drawn]', { timeout: 600_000 });
    await page.waitForFunction(() => document.getElementById('fan')?.dataset.chart !== 'pending', null, { timeout: 600_000 });
    extra += `  forecast fan ${(performance.now() - t0).toFixed(0)} ms`;
  }
  process.stdout.write(
    `${path.slice(0, 58).padEnd(58)} data shown ${ms(shown)} ms | slowest answer ${ms(slowest?.app)} ms ${(slowest?.path.split('?')[0] ?? '-').padEnd(28)} | server cpu ${ms(cpu)} ms | browser after last answer ${ms(shown - last)} ms${extra}${error ? `  ERROR ${error}` : ''}\n`,
  );
  if (perRoute) for (const c of calls) process.stdout.write(`    ${c.path.slice(0, 70).padEnd(70)} server ${ms(c.app)} ms  cpu ${ms(c.cpu)} ms  came at ${ms(c.came)} ms\n`);
}
await browser.close();
