// Each dashboard page's first data in Chromium, against a running server (nrr serve):
//   npm run build && node scripts/dashboard-page-timings.mjs http://127.0.0.1:4317 [--chromium /usr/bin/chromium]
// Prints one line per page: milliseconds from navigation until the page marks its data shown
// (body[data-ready="true"]), and for Overview and Account also until the forecast is drawn.
// Run it twice to see cold (first computation) and warm (cached) answers.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const base = (args.find((a) => a.startsWith('http')) ?? 'http://127.0.0.1:4317').replace(/\/$/, '');
const at = args.indexOf('--chromium');
const executablePath = at >= 0 ? args[at + 1] : '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
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
process.stdout.write(`${summary.accounts} accounts, reporting month ${m}\n`);
for (const path of pages) {
  const t0 = performance.now();
  await page.goto(`${base}${path}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 600_000 });
  const shown = performance.now() - t0;
  const error = await page.$eval('#page', (el) => el.querySelector('.error')?.textContent ?? '');
  let extra = '';
  if (path.startsWith('/overview') && !path.includes('segment=')) {
    await page.waitForSelector('#fan[data-drawn]', { timeout: 600_000 });
    extra = `  forecast fan ${(performance.now() - t0).toFixed(0)} ms`;
  }
  process.stdout.write(`${path.padEnd(60)} data shown ${shown.toFixed(0).padStart(7)} ms${extra}${error ? `  ERROR ${error}` : ''}\n`);
}
await browser.close();
