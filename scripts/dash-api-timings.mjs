// The first answer of each dashboard route on a synced workspace store, in process (no network):
//   npm run build && node scripts/dash-api-timings.mjs DATA_DIR [--today YYYY-MM-DD]
// Prints one line per route: milliseconds to the first answer, status and size. Routes run one
// after another, as a page's first requests would; the store is brought up to date first (timed apart).
import { Workspace } from '../dist/index.js';
import { createApp } from '../dist/serve/api-app.js';

const [data, ...rest] = process.argv.slice(2);
if (!data) {
  process.stderr.write('usage: node scripts/dash-api-timings.mjs DATA_DIR [--today YYYY-MM-DD]\n');
  process.exit(2);
}
const at = rest.indexOf('--today');
const today = at >= 0 ? new Date(`${rest[at + 1]}T00:00:00Z`) : new Date();
let t = performance.now();
const ws = await Workspace.open({ data, signals: true, today });
process.stdout.write(`open (sync check, signals)      ${(performance.now() - t).toFixed(0).padStart(7)} ms  ${ws.summary.accounts} accounts, reporting month ${ws.summary.asOf}\n`);
const app = createApp(ws);
const get = async (url) => {
  const t0 = performance.now();
  const res = await app.request(url);
  const text = await res.text();
  return { ms: performance.now() - t0, status: res.status, bytes: text.length, body: text };
};
const timed = async (url) => {
  const r = await get(url);
  process.stdout.write(`${url.padEnd(90)} ${r.ms.toFixed(0).padStart(7)} ms  ${r.status}  ${r.bytes} bytes\n`);
  return r;
};
const m = ws.summary.asOf;
const [seg] = JSON.parse((await timed('/api/attributes')).body).filter((a) => a.name === 'segment').map((a) => a.values[0].value);
const churn = JSON.parse((await timed(`/api/movements?month=${m}&category=churn&limit=1`)).body).rows[0];
const cohorts = JSON.parse((await timed('/api/cohorts?granularity=quarter')).body).rows;
const routes = [
  '/api/series',
  `/api/series?segment=${encodeURIComponent(seg)}`,
  `/api/metrics?window=12&segment=${encodeURIComponent(seg)}`,
  `/api/movements?month=${m}&category=expansion&limit=200`,
  `/api/movements?from=${m.slice(0, 4)}-01&to=${m}&category=churn&segment=${encodeURIComponent(seg)}&limit=200`,
  `/api/explain?account=${encodeURIComponent(churn.account_id)}&month=${churn.month}`,
  `/api/cohorts?granularity=quarter&segment=${encodeURIComponent(seg)}`,
  `/api/cohorts/${cohorts[Math.floor(cohorts.length / 2)].cohort}/accounts`,
  `/api/accounts/${encodeURIComponent(churn.account_id)}/timeline`,
  `/api/accounts/${encodeURIComponent(churn.account_id)}/history`,
  '/api/tasks?due=overdue',
  '/api/renewals',
  '/api/book',
  `/api/accounts?segment=${encodeURIComponent(seg)}&limit=100`,
];
for (const url of routes) await timed(url);
ws.close();
