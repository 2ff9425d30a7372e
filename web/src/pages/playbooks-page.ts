// Playbooks: each play's trigger and its open, done, won and exited tasks; open tasks per owner;
// recent entries and exits; the stored backtest (read, not recomputed per view).
import { get } from '../api-client.js';
import { chart, chartCard } from '../charts.js';
import { table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { pct } from '../format.js';

interface PlaybooksPage {
  readonly config_version: string;
  readonly state_file: string;
  readonly playbooks: readonly { name: string; description?: string; when: string; task_type: string }[];
  readonly outcomes: readonly { playbook: string; done: number; won: number; exited: number }[];
  readonly by_owner: readonly { owner: string; open: number; by_playbook: Record<string, number> }[];
  readonly recent_events: readonly { on_date: string; kind: string; playbook: string; account_id: string }[];
}
interface Backtest {
  readonly snapshots: number;
  readonly from: string;
  readonly to: string;
  readonly plays: readonly {
    playbook: string; target: string; fires: number; fires_known: number; hits: number; precision: number | null; base_rate: number | null;
    lift: number | null; lift_low: number | null; lift_high: number | null; recall_arr: number | null; median_lead_days: number | null; verdict: string;
  }[];
}

export async function playbooksPage(): Promise<void> {
  const d = await get<PlaybooksPage>('/api/playbooks');
  const open = d.by_owner.reduce((s, o) => s + o.open, 0);
  const plays = d.playbooks.map((p) => {
    const o = d.outcomes.find((x) => x.playbook === p.name) ?? { done: 0, won: 0, exited: 0 };
    return { ...p, ...o, open: d.by_owner.reduce((s, x) => s + (x.by_playbook[p.name] ?? 0), 0) };
  });
  pageRoot().innerHTML = `
    <h1>Playbooks</h1>
    <div class="muted">Rules version ${esc(d.config_version)} · ${open} open tasks · <a href="/tasks?view=all" data-link>the task list →</a></div>
    <div class="card section spaced"><h2>Plays</h2>${table({
      id: 'plays', csvName: 'plays', rows: plays,
      columns: [
        { label: 'play', wrap: true, html: (p) => `<b>${esc(p.name)}</b><div class="muted">${esc(p.description ?? '')}</div>`, csv: (p) => p.name },
        { label: 'trigger', wrap: true, html: (p) => `<code>${esc(p.when)}</code>`, csv: (p) => p.when },
        { label: 'task', html: (p) => esc(p.task_type), csv: (p) => p.task_type },
        { label: 'open', num: true, html: (p) => `<span data-open="${esc(p.name)}">${p.open}</span>`, csv: (p) => p.open },
        { label: 'done', num: true, html: (p) => String(p.done), csv: (p) => p.done },
        { label: 'won', num: true, html: (p) => String(p.won), csv: (p) => p.won },
        { label: 'exited', num: true, html: (p) => String(p.exited), csv: (p) => p.exited },
      ],
    })}</div>
    <div class="grid2 even">
      ${chartCard('owners', 'Open tasks per owner', { tall: true })}
      <div class="card section"><h2>Recent entries and exits</h2>${table({
        id: 'recent-events', csvName: 'play-events', rows: d.recent_events.slice(0, 100), empty: 'No runs yet: nrr playbooks run',
        columns: [
          { label: 'day', html: (e) => esc(e.on_date), csv: (e) => e.on_date },
          { label: 'event', html: (e) => esc(e.kind), csv: (e) => e.kind },
          { label: 'play', html: (e) => esc(e.playbook), csv: (e) => e.playbook },
          { label: 'account', html: (e) => `<a href="/accounts/${encodeURIComponent(e.account_id)}" data-link>${esc(e.account_id)}</a>`, csv: (e) => e.account_id },
        ],
      })}</div>
    </div>
    <div class="card section"><h2>Backtest: how each play would have done over the last 12 month-ends</h2><div id="backtest" class="muted">Reading the backtest…</div></div>`;
  const owners = d.by_owner.slice(0, 20).reverse();
  chart('owners', {
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 140, right: 16, top: 8, bottom: 40 },
    xAxis: { type: 'value', min: 0, minInterval: 1 },
    yAxis: { type: 'category', data: owners.map((o) => o.owner) },
    series: d.playbooks.map((p) => ({ name: p.name, type: 'bar' as const, stack: 'o', data: owners.map((o) => o.by_playbook[p.name] ?? 0) })),
  }, 'open-tasks-per-owner');
  const bt = await get<Backtest>('/api/playbooks/backtest');
  const el = document.getElementById('backtest');
  if (!el) return;
  el.className = '';
  const x = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)}×`);
  el.innerHTML = `<p class="muted">${bt.snapshots} month-ends, ${esc(bt.from)} … ${esc(bt.to)}; outcomes within 90 days.</p>${table({
    id: 'backtest-table', csvName: 'playbooks-backtest', rows: bt.plays,
    columns: [
      { label: 'play', html: (p) => esc(p.playbook), csv: (p) => p.playbook },
      { label: 'catches', html: (p) => (p.target === 'loss' ? 'churn or contraction' : 'expansion'), csv: (p) => p.target },
      { label: 'fires', num: true, html: (p) => String(p.fires), csv: (p) => p.fires },
      { label: 'precision', num: true, html: (p) => `<span data-precision="${esc(p.playbook)}">${pct(p.precision)}</span> <span class="muted">(${p.hits} of ${p.fires_known})</span>`, csv: (p) => p.precision },
      { label: 'base rate', num: true, html: (p) => pct(p.base_rate), csv: (p) => p.base_rate },
      { label: 'lift (95 %)', num: true, html: (p) => `${x(p.lift)}${p.lift_low !== null && p.lift_high !== null ? ` <span class="muted">(${p.lift_low.toFixed(1)}–${p.lift_high.toFixed(1)})</span>` : ''}`, csv: (p) => p.lift },
      { label: 'recall of ARR', num: true, html: (p) => pct(p.recall_arr), csv: (p) => p.recall_arr },
      { label: 'median lead', num: true, html: (p) => `${p.median_lead_days ?? '—'} d`, csv: (p) => p.median_lead_days },
      { label: 'verdict', wrap: true, html: (p) => esc(p.verdict), csv: (p) => p.verdict },
    ],
  })}`;
}
