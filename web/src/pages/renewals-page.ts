// Renewals: the renewals of the coming months, by month (ARR renewing, ARR at risk) and one row
// per account with its risk, health, forecast churn probability (when there is a forecast) and
// owner. A month's bar or row shows that month's renewals.
import { get, withQuery } from '../api-client.js';
import type { Money, RenewalRow, Renewals } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { compareCheckbox, filterBar, select } from '../controls.js';
import { FIRST_ROWS, table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { axisMoney, count, money, num, pct, plot, signedCount, signedMoney } from '../format.js';
import { addDecimals, compareDecimal, negateDecimal } from '../money-format.js';
import { addMonths, monthRange } from '../months.js';
import { currentSummary } from '../session.js';
import { pill } from './accounts-page.js';
import { atRiskMoney, scoresNotice, scoring } from '../scores-status.js';
import { filterText, filters, hrefWithFilters, params, setParams } from '../url-state.js';

interface MonthSummary {
  readonly month: string;
  readonly renewals: number;
  readonly arr: Money;
  readonly at_risk_accounts: number;
  readonly arr_at_risk: Money;
  /** Sum of ARR × churn probability; null when no renewal of the month has a forecast. */
  readonly expected_arr_loss: Money | null;
}

/** Renewals by month of their date, every month of the range (none is a row of zeros), sums exact: the server's by_month, for the filtered rows too. */
export function byMonth(rows: readonly RenewalRow[], months: readonly string[]): MonthSummary[] {
  return months.map((month) => {
    const inMonth = rows.filter((r) => r.renewal_date.startsWith(month));
    const losses = inMonth.map((r) => r.expected_arr_loss).filter((x): x is Money => typeof x === 'string');
    return {
      month,
      renewals: inMonth.length,
      arr: addDecimals(inMonth.map((r) => r.arr)),
      at_risk_accounts: inMonth.filter((r) => r.at_risk ?? compareDecimal(r.arr_at_risk, '0') !== 0).length,
      arr_at_risk: addDecimals(inMonth.map((r) => r.arr_at_risk)),
      expected_arr_loss: losses.length ? addDecimals(losses) : null,
    };
  });
}

export async function renewalsPage(): Promise<void> {
  const p = params();
  const s = currentSummary();
  const first = addMonths(s.as_of_date.slice(0, 7), 0);
  const choices = monthRange(addMonths(first, -12), addMonths(first, 24));
  const from = choices.includes(p.get('from') ?? '') ? p.get('from')! : first;
  const to = choices.includes(p.get('to') ?? '') && p.get('to')! >= from ? p.get('to')! : addMonths(from, 5);
  const inMonth = p.get('in') ?? '';
  const f = filters();
  const filtered = Object.keys(f).length > 0;
  // The server filters by any attribute; its by_month counts every renewal (the rows may stop at its limit).
  const compare = p.get('compare') === '1';
  const res = await get<Renewals>(withQuery('/api/renewals', { from, to, limit: 5000, compare: compare ? '1' : undefined, ...f }));
  const prior = res.prior ?? null;
  const all = res.rows;
  const truncated = res.rows.length < res.total;
  const months: MonthSummary[] = res.by_month
    ? res.by_month.map((b) => ({ month: b.month, renewals: b.accounts, arr: b.arr, at_risk_accounts: b.at_risk_accounts, arr_at_risk: b.arr_at_risk, expected_arr_loss: b.expected_arr_loss }))
    : byMonth(all, monthRange(from, to));
  const rows = inMonth ? all.filter((r) => r.renewal_date.startsWith(inMonth)) : all;
  const total = addDecimals(months.map((m) => m.arr));
  const atRisk = addDecimals(months.map((m) => m.arr_at_risk));
  const renewals = months.reduce((n, m) => n + m.renewals, 0);
  const atRiskAccounts = months.reduce((n, m) => n + m.at_risk_accounts, 0);
  pageRoot().innerHTML = `
    <h1>Renewals</h1>
    <div class="muted">Contracts renewing ${esc(from)} to ${esc(to)}${filtered ? `, only accounts with ${esc(filterText())}` : ''}: ARR, risk, health, the forecast’s 90-day churn probability when there is one, owner. ARR at risk is the ARR of the accounts at risk (${esc(res.at_risk_rule ?? 'the server’s rule')}); expected loss is ARR × churn probability.</div>
    ${res.forecast && res.forecast.status !== 'ready' && res.forecast.note ? `<div class="notice muted" data-forecast-status="${esc(res.forecast.status)}">${esc(res.forecast.note)}</div>` : ''}
    ${scoresNotice(res.scores)}
    ${filterBar()}
    <div class="controls">
      ${select('from', choices.map((m) => [m, m]), from, 'From')}
      ${select('to', choices.filter((m) => m >= from).map((m) => [m, m]), to, 'To')}
      ${compareCheckbox(compare)}
      ${inMonth ? `<button type="button" class="chip" data-clear="in">only ${esc(inMonth)} ✕</button>` : ''}
    </div>
    ${compare && prior === null ? `<div class="notice muted" data-no-prior>No prior period: ${esc(s.as_of_date)} less ${count(monthRange(from, to).length)} months is before the data (${esc(s.first_month)}).</div>` : ''}
    ${prior ? `<div class="muted" data-prior-note>Prior period: the renewals of ${esc(prior.from)} to ${esc(prior.to)} as the book stood on ${esc(prior.as_of)}, as many months before ${esc(res.as_of ?? s.as_of_date)}: the same page that much earlier.</div>` : ''}
    <div class="tiles">
      <div class="tile"><div class="label">Renewals</div><div class="value" data-metric="renewals">${count(renewals)}</div><div class="sub">accounts renewing in the range</div>${prior ? `<div class="sub">prior period <span data-prior-renewals>${count(prior.accounts)}</span> (${signedCount(renewals - prior.accounts)})</div>` : ''}</div>
      <div class="tile"><div class="label">ARR renewing</div><div class="value" data-metric="renewing-arr">${money(total, true)}</div><div class="sub">${money(total)}</div>${prior ? `<div class="sub">prior period <span data-prior-arr>${money(prior.arr)}</span> (<span data-change-arr>${signedMoney(addDecimals([total, negateDecimal(prior.arr)]))}</span>)</div>` : ''}</div>
      <div class="tile"><div class="label">ARR at risk</div><div class="value" data-metric="arr-at-risk">${atRiskMoney(res.scores, atRisk, true)}</div><div class="sub">${scoring(res.scores) ? atRiskMoney(res.scores, atRisk) : `${money(atRisk)} · ${count(atRiskAccounts)} accounts`}</div></div>
    </div>
    ${chartCard('renewals-chart', 'ARR renewing by month', { note: 'Each bar is a month’s renewing ARR, split into at risk and the rest; click a bar for its renewals.' })}
    <div class="card section"><h2>By month</h2>${table({
      id: 'renewals-by-month', csvName: `renewals-by-month-${from}-${to}`, rows: months,
      rowHref: (m) => hrefWithFilters('/renewals', { from, to, in: m.month }),
      columns: [
        { label: 'month', html: (m) => `<a href="${esc(hrefWithFilters('/renewals', { from, to, in: m.month }))}" data-link>${esc(m.month)}</a>`, csv: (m) => m.month },
        { label: 'renewals', num: true, html: (m) => count(m.renewals), csv: (m) => m.renewals },
        { label: 'ARR', num: true, html: (m) => `<span data-month-arr="${esc(m.month)}">${money(m.arr)}</span>`, csv: (m) => m.arr },
        { label: 'at risk', num: true, html: (m) => (scoring(res.scores) ? atRiskMoney(res.scores, '0') : count(m.at_risk_accounts)), csv: (m) => (scoring(res.scores) ? '' : m.at_risk_accounts) },
        { label: 'ARR at risk', num: true, html: (m) => `<span data-month-risk="${esc(m.month)}">${atRiskMoney(res.scores, m.arr_at_risk)}</span>`, csv: (m) => (scoring(res.scores) ? '' : m.arr_at_risk) },
        { label: 'expected loss', num: true, html: (m) => (m.expected_arr_loss === null ? '<span class="muted">no forecast</span>' : money(m.expected_arr_loss)), csv: (m) => m.expected_arr_loss },
      ],
    })}</div>
    <div class="card section"><h2>${inMonth ? `Renewing in ${esc(inMonth)}` : 'Every renewal'}</h2>${truncated ? `<p class="muted note">The soonest ${count(res.rows.length)} of ${count(res.total)} renewals; narrow the range for the rest.</p>` : ''}${table({
      id: 'renewals', shown: FIRST_ROWS, csvName: `renewals-${inMonth || `${from}-${to}`}`, rows: [...rows].sort((a, b) => (a.renewal_date < b.renewal_date ? -1 : a.renewal_date > b.renewal_date ? 1 : compareDecimal(b.arr, a.arr))),
      rowHref: (r) => `/accounts/${encodeURIComponent(r.account_id)}`,
      rowAttrs: (r) => ({ 'data-account': r.account_id }),
      empty: 'No renewals in this range.',
      columns: [
        { label: 'account', html: (r) => `<a href="/accounts/${encodeURIComponent(r.account_id)}" data-link>${esc(r.name ?? r.account_id)}</a>${r.name ? ` <span class="muted">${esc(r.account_id)}</span>` : ''}`, csv: (r) => r.account_id },
        { label: 'renewal', html: (r) => esc(r.renewal_date), csv: (r) => r.renewal_date },
        { label: 'ARR', num: true, html: (r) => `<span data-arr>${money(r.arr)}</span>`, csv: (r) => r.arr },
        { label: 'risk', num: true, html: (r) => num(r.risk), csv: (r) => r.risk },
        { label: 'health', html: (r) => `${r.health_colour ? pill(r.health_colour) : ''} ${esc(typeof r.health === 'number' ? num(r.health) : (r.health ?? '—'))}`, csv: (r) => r.health },
        { label: 'churn probability (90 d)', num: true, html: (r) => (r.churn_probability_90d === null ? '<span class="muted">no forecast</span>' : pct(r.churn_probability_90d)), csv: (r) => r.churn_probability_90d },
        { label: 'at risk', html: (r) => (r.at_risk ? '<span class="pill red">at risk</span>' : ''), csv: (r) => r.at_risk ?? '' },
        { label: 'ARR at risk', num: true, html: (r) => atRiskMoney(res.scores, r.arr_at_risk), csv: (r) => (scoring(res.scores) ? '' : r.arr_at_risk) },
        { label: 'expected loss', num: true, html: (r) => (r.expected_arr_loss ? money(r.expected_arr_loss) : '—'), csv: (r) => r.expected_arr_loss },
        { label: 'owner', html: (r) => esc(r.owner ?? ''), csv: (r) => r.owner },
        { label: 'segment', html: (r) => esc(r.segment ?? ''), csv: (r) => r.segment },
      ],
    })}</div>`;
  const c = chart('renewals-chart', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => {
      const m = months[ps[0]!.dataIndex]!;
      return `${m.month}: ${m.renewals} renewals\nARR ${money(m.arr)}\nat risk ${money(m.arr_at_risk)}`;
    }) as never },
    legend: { bottom: 0 },
    grid: { left: 72, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: months.map((m) => m.month) },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: axisMoney } },
    series: [
      { name: 'at risk', type: 'bar', stack: 'arr', data: months.map((m) => plot(m.arr_at_risk)), itemStyle: { color: '#c0262d' }, cursor: 'pointer' },
      { name: 'rest', type: 'bar', stack: 'arr', data: months.map((m) => plot(m.arr) - plot(m.arr_at_risk)), itemStyle: { color: '#98a2b3' }, cursor: 'pointer' },
    ],
  }, `renewals-${from}-${to}`);
  c.on('click', (e: { dataIndex?: number }) => {
    const m = months[e.dataIndex ?? -1];
    if (m) setParams({ in: m.month });
  });
}
