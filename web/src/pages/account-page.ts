// Account: ARR, health, churn risk, renewal and the forecast's 90-day churn and expansion
// probabilities; the MRR history with its movements; health, risk, seats and usage over time;
// the timeline (tickets, meetings, contacts, milestones, opportunities, plays and tasks,
// movements); every movement with the lines behind it and every source line with its file row.
// Which figures exclude usage is said where they are shown.
import { ApiError, get, withQuery } from '../api-client.js';
import type { AccountForecast, AccountForecastAnswer, AccountRow, HistoryPoint, Task, TimelineEvent } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { FIRST_ROWS, table } from '../data-table.js';
import { byId, esc, pageRoot } from '../dom.js';
import { axisMoney, money, num, pct, plot } from '../format.js';
import { formatDecimal } from '../money-format.js';
import { currentSummary, loadSummary } from '../session.js';
import { taskDue, taskId, taskNotes, taskPlay } from '../task-fields.js';
import { params } from '../url-state.js';
import { pill } from './accounts-page.js';
import { current, viewId } from '../router.js';

interface Reason {
  readonly points: number;
  readonly text: string;
}
interface Score {
  readonly score: number | null;
  readonly not_scored?: string | null;
  readonly reasons: readonly Reason[];
  readonly level?: string;
  readonly note?: string;
  readonly definition?: string;
  readonly measures?: readonly { measure: string; group: string; value: number | null; band: string; points: number | null; weight: number }[];
}
interface Movement {
  readonly month: string;
  readonly category: string;
  readonly cause: string;
  readonly mrr_before: string;
  readonly mrr_after: string;
  readonly delta: string;
  readonly lines?: readonly { id: string; effect: string }[];
}
interface SourceLine {
  readonly source: string;
  readonly id: string;
  readonly row: number;
  readonly product: string;
  readonly currency: string;
  readonly first_month: string | null;
  readonly last_month: string | null;
  readonly mrr_local: string;
  readonly mrr: string;
}
interface AccountDetail {
  readonly as_of: string;
  readonly account: AccountRow | null;
  readonly scored: { health: Score; risk: Score; expansion: Score } | null;
  readonly explanation: { attributes: Record<string, string | null>; lines: readonly SourceLine[]; history: readonly { month: string; mrr: string }[]; movements: readonly Movement[] };
  readonly tasks: readonly Task[];
}
type History = { points?: HistoryPoint[]; rows?: HistoryPoint[]; excludes_usage?: readonly string[]; usage_policy?: string; note?: string } | HistoryPoint[];

/** A section that fails alone: its message in place of its content, the rest of the page still shown. */
async function optional<T>(load: Promise<T>): Promise<T | Error> {
  try {
    return await load;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

export async function accountPage(id: string): Promise<void> {
  const enc = encodeURIComponent(id);
  const focusMonth = params().get('month');
  // The forecast can take a while the first time (it is cached after): its tiles fill in when it comes.
  const forecastLoad = optional(get<AccountForecastAnswer>(withQuery(`/api/forecast/accounts/${enc}`, { horizon: 90 })));
  const view = viewId();
  const detail = get<AccountDetail>(`/api/accounts/${enc}`);
  detail.catch(() => undefined);
  // The page is an early route (router.ts): its requests go out beside the summary's, which it reads when drawing.
  const [d, timeline, history] = await Promise.all([
    detail.catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }),
    optional(get<TimelineEvent[] | { events: TimelineEvent[] }>(`/api/accounts/${enc}/timeline`)),
    optional(get<History>(`/api/accounts/${enc}/history`)),
    loadSummary(),
  ]);
  if (d === null) return accountNotFound(id, await detail.catch((e: unknown) => (e instanceof Error ? e.message : String(e))));
  const a = d.account;
  const s = d.scored;
  const ex = d.explanation;
  const name = ex.attributes['name'] ?? id;
  const usagePolicy = currentSummary().policies.usage ?? 'include';
  const reasons = (sc: Score) =>
    sc.not_scored
      ? `<li class="muted" data-not-scored>not scored: ${esc(sc.not_scored)}</li>`
      : sc.reasons.length ? sc.reasons.map((r) => `<li>+${num(r.points)} ${esc(r.text)}</li>`).join('') : '<li class="muted">nothing points that way</li>';
  const scoreText = (sc: Score | undefined, value: number | null) => (sc?.not_scored ? 'not scored' : num(value));
  const events: TimelineEvent[] | Error = timeline instanceof Error ? timeline : Array.isArray(timeline) ? timeline : timeline.events;
  const points: HistoryPoint[] | Error = history instanceof Error ? history : Array.isArray(history) ? history : (history.points ?? history.rows ?? []);
  const excludes = history instanceof Error || Array.isArray(history) ? [] : (history.excludes_usage ?? []);
  const usageNote = history instanceof Error || Array.isArray(history) ? '' : (history.note ?? '');
  const unavailable = (e: Error) => `<p class="muted">${e instanceof ApiError && e.status === 404 ? 'Not served by this server.' : esc(e.message)}</p>`;

  pageRoot().innerHTML = `
    <div class="muted"><a href="/accounts" data-link>← Accounts</a></div>
    <h1 data-account-name>${esc(name)} <span class="muted">${esc(id)}</span></h1>
    <div class="muted">${Object.entries(ex.attributes).filter(([k, v]) => k !== 'name' && v).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(' · ')}</div>
    <div class="tiles spaced">
      <div class="tile"><div class="label">ARR on ${esc(d.as_of)}</div><div class="value" data-metric="account-arr">${a ? money(a.arr) : 'not a customer'}</div><div class="sub">${a ? esc(a.tier) : ''} · usage ${usagePolicy === 'exclude' ? 'excluded' : 'included'} (workspace policy)</div></div>
      <div class="tile"><div class="label">Health</div><div class="value">${a ? (s?.health.not_scored ? 'not scored' : `${num(a.health)} ${pill(a.health_colour)}`) : '—'}</div><div class="sub">${s ? esc(s.health.not_scored ? `no score: ${s.health.not_scored}` : (s.health.definition ?? '')) : ''}</div></div>
      <div class="tile"><div class="label">Churn risk</div><div class="value" data-metric="account-risk">${a ? scoreText(s?.risk, a.churn_risk) : '—'}</div><div class="sub">${s ? esc(s.risk.not_scored ? `no score: ${s.risk.not_scored}` : (s.risk.level ?? '')) : ''}</div></div>
      <div class="tile"><div class="label">Renewal</div><div class="value small">${a ? esc(a.renewal_date ?? (a.monthly_terms ? 'monthly' : '—')) : '—'}</div><div class="sub">${a?.days_to_renewal != null ? `in ${a.days_to_renewal} days` : ''}</div></div>
      <div class="tile"><div class="label">Churn in 90 days</div><div class="value" data-metric="churn-probability">…</div><div class="sub" data-forecast-sub="churn">forecasting…</div></div>
      <div class="tile"><div class="label">Expansion in 90 days</div><div class="value" data-metric="expansion-probability">…</div><div class="sub" data-forecast-sub="expansion"></div></div>
    </div>
    <div id="forecast-reasons"></div>
    ${chartCard('history', 'MRR history and movements', { note: `MRR ${usagePolicy === 'exclude' ? 'without' : 'with'} usage charges (workspace policy).` })}
    <div class="grid2 even">
      <div id="health-card">${points instanceof Error ? `<div class="card section"><h2>Health and risk over time</h2>${unavailable(points)}</div>` : chartCard('health-history', 'Health and risk over time', { note: 'Month-end scores, 0–100.' })}</div>
      <div id="seats-card">${points instanceof Error ? `<div class="card section"><h2>Seats and usage</h2>${unavailable(points)}</div>` : chartCard('usage-history', 'Seats and usage', { note: `${excludes.length ? `Figures that exclude usage charges: ${excludes.join(', ')}. ` : ''}${usageNote}` })}</div>
    </div>
    ${s ? `<div class="grid2 even">
      <div class="card"><h2>Health score: how it is made</h2>${table({
        id: 'health-measures', csvName: `${id}-health`, rows: s.health.measures ?? [],
        columns: [
          { label: 'measure', html: (m) => esc(m.measure), csv: (m) => m.measure },
          { label: 'group', html: (m) => esc(m.group), csv: (m) => m.group },
          { label: 'value', num: true, html: (m) => (m.value === null ? 'missing' : num(m.value, 3)), csv: (m) => m.value },
          { label: 'band', html: (m) => esc(m.band), csv: (m) => m.band },
          { label: 'points', num: true, html: (m) => (m.points === null ? '—' : `${num(m.points)} / ${m.weight}`), csv: (m) => m.points },
        ],
      })}</div>
      <div class="card"><h2>Churn risk ${scoreText(s.risk, s.risk.score)}</h2><ul>${reasons(s.risk)}</ul>${s.risk.note ? `<p class="muted">${esc(s.risk.note)}</p>` : ''}
        <h2>Expansion readiness ${scoreText(s.expansion, s.expansion.score)}</h2><ul>${reasons(s.expansion)}</ul></div>
    </div>` : ''}
    <div class="card section"><h2>Timeline</h2>${
      events instanceof Error
        ? unavailable(events)
        : table({
            id: 'timeline', shown: FIRST_ROWS, csvName: `${id}-timeline`, rows: [...events].sort((x, y) => (x.date < y.date ? 1 : x.date > y.date ? -1 : 0)),
            empty: 'Nothing recorded for this account.',
            rowAttrs: (e) => ({ 'data-kind': e.kind }),
            columns: [
              { label: 'date', html: (e) => esc(e.date), csv: (e) => e.date },
              { label: 'kind', html: (e) => `<span class="kind kind-${esc(e.kind.replace(/[^a-z_-]/gi, ''))}">${esc(e.kind)}</span>`, csv: (e) => e.kind },
              { label: 'what', wrap: true, html: (e) => esc(e.title), csv: (e) => e.title },
              { label: 'detail', wrap: true, html: (e) => `<span class="muted">${esc(e.detail ?? '')}</span>`, csv: (e) => e.detail },
              { label: 'file row', html: (e) => (e.file ? `<span class="muted">${esc(e.file)} row ${esc(e.row)}</span>` : ''), csv: (e) => (e.file ? `${e.file}:${e.row}` : '') },
            ],
          })
    }</div>
    <div class="card section"><h2>Tasks</h2>${table({
      id: 'account-tasks', csvName: `${id}-tasks`, rows: d.tasks, empty: 'No tasks.',
      columns: [
        { label: '#', html: (t) => `<a href="/tasks?account=${encodeURIComponent(id)}&status=all" data-link>${taskId(t)}</a>`, csv: (t) => taskId(t) },
        { label: 'play', html: (t) => esc(taskPlay(t)), csv: (t) => taskPlay(t) },
        { label: 'status', html: (t) => esc(t.status), csv: (t) => t.status },
        { label: 'owner', html: (t) => esc(t.owner), csv: (t) => t.owner },
        { label: 'opened', html: (t) => esc(t.opened_on ?? ''), csv: (t) => t.opened_on },
        { label: 'due', html: (t) => esc(taskDue(t)), csv: (t) => taskDue(t) },
        { label: 'outcome', html: (t) => esc(t.outcome ?? ''), csv: (t) => t.outcome },
        { label: 'notes', wrap: true, html: (t) => esc(taskNotes(t).join(' · ')), csv: (t) => taskNotes(t).join(' | ') },
      ],
    })}</div>
    <div class="card section"><h2>Movements and the lines behind them</h2>${table({
      id: 'movements', csvName: `${id}-movements`, rows: ex.movements,
      rowAttrs: (m) => ({ 'data-month': m.month, ...(m.month === focusMonth ? { class: 'focus' } : {}) }),
      columns: [
        { label: 'month', html: (m) => esc(m.month), csv: (m) => m.month },
        { label: 'category', html: (m) => esc(m.category), csv: (m) => m.category },
        { label: 'cause', html: (m) => esc(m.cause), csv: (m) => m.cause },
        { label: 'MRR before', num: true, html: (m) => money(m.mrr_before), csv: (m) => m.mrr_before },
        { label: 'after', num: true, html: (m) => money(m.mrr_after), csv: (m) => m.mrr_after },
        { label: 'change', num: true, html: (m) => money(m.delta), csv: (m) => m.delta },
        { label: 'lines', wrap: true, html: (m) => esc((m.lines ?? []).map((l) => `${l.id} ${l.effect}`).join(', ')), csv: (m) => (m.lines ?? []).map((l) => `${l.id} ${l.effect}`).join('; ') },
      ],
    })}</div>
    <div class="card section"><h2>Source lines</h2>${table({
      id: 'source-lines', csvName: `${id}-lines`, rows: ex.lines,
      columns: [
        { label: 'source', html: (l) => esc(l.source), csv: (l) => l.source },
        { label: 'id', html: (l) => esc(l.id), csv: (l) => l.id },
        { label: 'file row', num: true, html: (l) => `<span data-row>${esc(l.row)}</span>`, csv: (l) => l.row },
        { label: 'product', html: (l) => esc(l.product), csv: (l) => l.product },
        { label: 'first month', html: (l) => esc(l.first_month ?? '—'), csv: (l) => l.first_month },
        { label: 'last month', html: (l) => esc(l.last_month ?? '—'), csv: (l) => l.last_month },
        { label: 'MRR (own currency)', num: true, html: (l) => `${esc(l.currency)} ${formatDecimal(l.mrr_local, 2)}`, csv: (l) => l.mrr_local },
        { label: 'currency', hidden: true, html: () => '', csv: (l) => l.currency },
        { label: 'MRR', num: true, html: (l) => money(l.mrr), csv: (l) => l.mrr },
      ],
    })}</div>`;

  // A movement opened from a list (…?month=YYYY-MM) is marked and scrolled to.
  if (focusMonth) pageRoot().querySelector('#movements tr.focus')?.scrollIntoView({ block: 'center' });
  const h = ex.history;
  chart('history', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => `${h[ps[0]!.dataIndex]!.month}: ${money(h[ps[0]!.dataIndex]!.mrr)}`) as never },
    grid: { left: 72, right: 16, top: 24, bottom: 32 },
    xAxis: { type: 'category', data: h.map((x) => x.month) },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: axisMoney } },
    series: [
      {
        name: 'MRR', type: 'line', step: 'end', data: h.map((x) => plot(x.mrr)), areaStyle: { opacity: 0.08 },
        markPoint: { symbolSize: 36, data: ex.movements.map((m) => ({ name: m.category, coord: [m.month, plot(m.mrr_after)], value: m.category.slice(0, 3) })) },
      },
    ],
  }, `${id}-mrr`);
  if (!(points instanceof Error)) drawHistory(id, points);
  void showForecast(forecastLoad, view);
}

/** The forecast's 90-day probabilities and churn reasons for the account, once the forecast is in. */
async function showForecast(load: Promise<AccountForecastAnswer | Error>, view: number): Promise<void> {
  const fc = await load;
  if (!current(view)) return;
  const root = pageRoot();
  const set = (sel: string, html: string) => {
    const el = root.querySelector(sel);
    if (el) el.innerHTML = html;
  };
  const forecast: AccountForecast | null = fc instanceof Error ? null : fc.account;
  set('[data-metric="churn-probability"]', forecast ? pct(forecast.churn_probability) : '—');
  set('[data-metric="expansion-probability"]', forecast ? pct(forecast.expansion_probability) : '—');
  set('[data-forecast-sub="churn"]', forecast ? `contraction ${pct(forecast.contraction_probability)} · forecast from ${esc((fc as AccountForecastAnswer).as_of)}` : fc instanceof Error ? `no forecast: ${esc(fc.message)}` : 'no MRR at the forecast day');
  set('[data-forecast-sub="expansion"]', forecast ? esc(forecast.expansion_reasons.slice(0, 2).join('; ')) : '');
  if (forecast?.reasons.length) set('#forecast-reasons', `<div class="card section"><h2>Why it may churn (forecast)</h2><ul>${forecast.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul></div>`);
  root.querySelector('[data-metric="churn-probability"]')?.setAttribute('data-done', 'true');
}

const numeric = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : null);

function drawHistory(id: string, points: readonly HistoryPoint[]): void {
  const months = points.map((p) => p.month);
  const series = (key: string) => points.map((p) => numeric(p[key]));
  const has = (key: string) => points.some((p) => numeric(p[key]) !== null);
  const scoreKeys = ['health', 'risk', 'churn_risk', 'expansion_readiness'].filter(has);
  if (!points.length || !scoreKeys.length) byId('health-card').innerHTML = `<div class="card section"><h2>Health and risk over time</h2><p class="muted">No month-end scores for this account.</p></div>`;
  else
    chart('health-history', {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 40, right: 16, top: 16, bottom: 56 },
      xAxis: { type: 'category', data: months },
      yAxis: { type: 'value', min: 0, max: 100 },
      series: scoreKeys.map((k) => ({ name: k.replace(/_/g, ' '), type: 'line' as const, data: series(k), connectNulls: false })),
    }, `${id}-health`);
  const usageKeys = Object.keys(points[0] ?? {}).filter((k) => /seat|usage|users|events|licen/i.test(k) && !/exclud/i.test(k) && has(k));
  if (!points.length || !usageKeys.length) byId('seats-card').innerHTML = `<div class="card section"><h2>Seats and usage</h2><p class="muted">No seat or usage data for this account.</p></div>`;
  else
    chart('usage-history', {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0, type: 'scroll' },
      grid: { left: 56, right: 56, top: 16, bottom: 56 },
      xAxis: { type: 'category', data: months },
      yAxis: [{ type: 'value', min: 0, name: 'seats' }, { type: 'value', min: 0, name: 'usage', splitLine: { show: false } }],
      series: usageKeys.map((k) => ({ name: k.replace(/_/g, ' '), type: /seat|licen/i.test(k) ? ('bar' as const) : ('line' as const), yAxisIndex: /seat|licen/i.test(k) ? 0 : 1, data: series(k) })),
    }, `${id}-usage`);
}

/** The 404 view of an account: what the server said, the closest ids as links. */
function accountNotFound(id: string, message: unknown): void {
  const text = String(message).replace(/^\/api\/accounts\/[^:]*: /, '');
  const closest = /closest: (.*)$/.exec(text)?.[1]?.split(', ').filter(Boolean) ?? [];
  pageRoot().innerHTML = `<div class="muted"><a href="/accounts" data-link>← Accounts</a></div>
    <h1 data-not-found>Account not found</h1>
    <p class="muted">There is no account <code>${esc(id)}</code> in the accounts file or the contract lines.</p>
    ${closest.length ? `<p>Closest ids: ${closest.map((c) => `<a href="/accounts/${encodeURIComponent(c)}" data-link>${esc(c)}</a>`).join(' · ')}</p>` : ''}`;
}
