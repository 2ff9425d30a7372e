import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, generateCompany } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { createApp } from '../src/serve/api-app.js';
import { filteredAccountIds } from '../src/queries/attribute-queries.js';
import { tokenlessWriteRefusal } from '../src/serve/task-actions.js';
import { removeDir } from './helpers/fixture-dir.js';

/**
 * The CS workspace through HTTP: task actions written by the API are what `nrr tasks` (the built
 * CLI) then reads, and the CLI's actions are what the API then serves.
 */
const TOKEN = 'k7Qw-3vLp-9ZmX-2bRt';
const DAY = '2026-07-01';
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
let dir: string;
let ws: Workspace;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-cs-'));
  await generateCompany({ out: dir, accounts: 300, months: 24, seed: 21, end: '2026-06' });
  ws = await Workspace.open({ data: dir, signals: true, today: new Date(`${DAY}T00:00:00Z`) });
  await runPlaybooks(ws, {});
  app = createApp(ws);
}, 120_000);
afterAll(() => {
  ws?.close();
  removeDir(dir);
});

interface TaskRow {
  id: number;
  task_id: number;
  account_id: string;
  play: string;
  owner: string;
  due: string;
  status: string;
  overdue: boolean;
  snoozed_until: string | null;
  notes: string | null;
  note: string | null;
  outcome: string | null;
  closed_on: string | null;
}

const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: DAY } });
/** `nrr tasks … --format json` as the CLI prints it. */
function cliTasks(...args: string[]): TaskRow[] {
  const r = cli('tasks', '--data', dir, '-q', '--format', 'json', ...args);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as TaskRow[];
}
async function apiTasks(query = ''): Promise<TaskRow[]> {
  const res = await app.request(`/api/tasks${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: TaskRow[] }).rows;
}
const post = (path: string, body: unknown, headers: Record<string, string> = {}, a = app) =>
  a.request(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

describe('GET /api/tasks', () => {
  it('lists open tasks with id, account, play, owner, due, status, an overdue flag and notes', async () => {
    const rows = await apiTasks('?status=all');
    expect(rows.length).toBeGreaterThan(4);
    for (const t of rows) {
      expect(t.id).toBe(t.task_id);
      expect(t.overdue, `task ${t.id}`).toBe(t.status === 'open' && t.due < DAY);
    }
    const open = await apiTasks();
    expect(open.every((t) => t.status === 'open')).toBe(true);
    // The same list as the CLI's, in the same order.
    expect(open.map((t) => t.id)).toEqual(cliTasks().map((t) => t.task_id));
  });

  it('filters by owner and due: overdue, and due in the seven days from the day', async () => {
    const open = await apiTasks();
    const owner = open[0]!.owner;
    expect((await apiTasks(`?owner=${encodeURIComponent(owner.toUpperCase())}`)).map((t) => t.id)).toEqual(open.filter((t) => t.owner === owner).map((t) => t.id));
    expect((await apiTasks('?due=overdue')).map((t) => t.id)).toEqual(open.filter((t) => t.due < DAY).map((t) => t.id));
    // 2026-07-01 … 2026-07-07.
    expect((await apiTasks('?due=week')).map((t) => t.id)).toEqual(open.filter((t) => t.due >= DAY && t.due <= '2026-07-07').map((t) => t.id));
    expect((await app.request('/api/tasks?due=soon')).status).toBe(400);
  });
});

describe('task actions through HTTP change what `nrr tasks` reads', () => {
  let ids: number[];
  beforeAll(async () => {
    ids = (await apiTasks()).slice(0, 4).map((t) => t.id);
    expect(ids).toHaveLength(4);
  });

  it('done with an outcome closes the task on the day', async () => {
    const res = await post(`/api/tasks/${ids[0]}/done`, { outcome: 'won', note: 'signed 20 more seats' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ids[0], status: 'done', outcome: 'won', closed_on: DAY });
    const [t] = cliTasks('--status', 'all').filter((x) => x.task_id === ids[0]);
    expect(t).toMatchObject({ status: 'done', outcome: 'won', closed_on: DAY, note: 'signed 20 more seats' });
    // Twice is a conflict; the task stays as it was.
    const again = await post(`/api/tasks/${ids[0]}/done`, { outcome: 'lost' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/is already done/);
  });

  it('snooze hides the task from open (and overdue) until the day, for the API and the CLI', async () => {
    const res = await post(`/api/tasks/${ids[1]}/snooze`, { until: '2026-07-15' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ids[1], status: 'snoozed', snoozed_until: '2026-07-15', overdue: false });
    expect(cliTasks().map((t) => t.task_id)).not.toContain(ids[1]);
    expect(cliTasks('--status', 'snoozed').map((t) => t.task_id)).toEqual([ids[1]]);
    expect((await apiTasks('?status=snoozed')).map((t) => t.id)).toEqual([ids[1]]);
    // After the snooze it is open again: the CLI on 2026-07-16 lists it.
    const later = spawnSync(process.execPath, [BIN, 'tasks', '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: '2026-07-16' } });
    expect((JSON.parse(later.stdout) as TaskRow[]).find((t) => t.task_id === ids[1])).toMatchObject({ status: 'open', snoozed_until: '2026-07-15' });
  });

  it('reassign gives the task to another owner', async () => {
    const res = await post(`/api/tasks/${ids[2]}/reassign`, { owner: 'Sam Lee' });
    expect(res.status).toBe(200);
    expect(cliTasks('--owner', 'sam lee').map((t) => t.task_id)).toEqual([ids[2]]);
    // Sent again (a retry), it changes nothing and still answers the task.
    const again = await post(`/api/tasks/${ids[2]}/reassign`, { owner: 'Sam Lee' });
    expect([again.status, ((await again.json()) as TaskRow).owner]).toEqual([200, 'Sam Lee']);
  });

  it('note adds a dated line, and a second one below it', async () => {
    expect((await post(`/api/tasks/${ids[3]}/note`, { text: 'left a voicemail' })).status).toBe(200);
    expect((await post(`/api/tasks/${ids[3]}/note`, { text: 'call booked for the 9th' })).status).toBe(200);
    expect(cliTasks().find((t) => t.task_id === ids[3])!.note).toBe(`${DAY}: left a voicemail\n${DAY}: call booked for the 9th`);
    expect((await apiTasks()).find((t) => t.id === ids[3])!.notes).toBe(`${DAY}: left a voicemail\n${DAY}: call booked for the 9th`);
  });

  it('the CLI’s snooze, reassign and note are what the API then serves', async () => {
    const [id] = (await apiTasks()).slice(0, 1).map((t) => t.id);
    expect(cli('tasks', 'reassign', String(id), '--to', 'Ana Ruiz', '--data', dir).status).toBe(0);
    expect(cli('tasks', 'note', String(id), 'emailed the sponsor', '--data', dir).status).toBe(0);
    expect(cli('tasks', 'snooze', String(id), '--until', '2026-08-01', '--data', dir).status).toBe(0);
    expect((await apiTasks('?status=snoozed')).find((t) => t.id === id)).toMatchObject({ owner: 'Ana Ruiz', notes: `${DAY}: emailed the sponsor`, snoozed_until: '2026-08-01' });
    const past = cli('tasks', 'snooze', String(id), '--until', '2026-06-01', '--data', dir);
    expect([past.status, past.stderr]).toEqual([1, `error: task ${id}: snooze until 2026-06-01? expected a day after ${DAY}\n`]);
  });

  it('refuses an unknown task (404), a bad body (400) and an unknown action (404), naming what was expected', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/api/tasks/999999/done', { outcome: 'won' }, 404, /^no task 999999$/],
      ['/api/tasks/abc/done', { outcome: 'won' }, 404, /task ids are whole numbers/],
      ['/api/tasks/1/done', { outcome: 'maybe' }, 400, /^outcome: .*won.*lost.*, got 'maybe' \(expected \{"outcome": "won"/],
      ['/api/tasks/1/done', {}, 400, /^outcome: /],
      ['/api/tasks/1/snooze', { until: '2026-02-30' }, 400, /^until: expected a day of the calendar, got '2026-02-30'/],
      ['/api/tasks/1/reassign', { owner: ' ' }, 400, /^owner: expected a name/],
      ['/api/tasks/1/note', { text: 'x', extra: 1 }, 400, /unknown parameter extra/],
      ['/api/tasks/1/note', 'not json', 400, /^the body is not JSON: expected \{"text"/],
      ['/api/tasks/1/archive', {}, 404, /no such task action: archive/],
    ];
    for (const [path, body, status, error] of cases) {
      const res = await post(path, body);
      const got = (await res.json()) as { error: string };
      expect([res.status, got.error], path).toEqual([status, expect.stringMatching(error)]);
    }
  });
});

describe('who may write', () => {
  it('without a token: JSON from the page’s own origin only', async () => {
    const [id] = (await apiTasks()).map((t) => t.id);
    const form = await app.request(`/api/tasks/${id}/note`, { method: 'POST', body: 'text=x', headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'localhost:4317' } });
    expect(form.status).toBe(403);
    const foreign = await post(`/api/tasks/${id}/note`, { text: 'x' }, { origin: 'https://evil.example', host: 'localhost:4317' });
    expect([foreign.status, ((await foreign.json()) as { error: string }).error]).toEqual([403, 'a page of https://evil.example may not change tasks here']);
    expect((await post(`/api/tasks/${id}/note`, { text: 'from the dashboard' }, { origin: 'http://localhost:4317', host: 'localhost:4317' })).status).toBe(200);
    expect(tokenlessWriteRefusal('application/json', undefined, '127.0.0.1:4317')).toBeNull();
    expect(tokenlessWriteRefusal('application/json', 'http://127.0.0.1:9999', '127.0.0.1:4317')).toBeNull(); // ports differ, host is the same: still loopback
    expect(tokenlessWriteRefusal('text/plain', undefined, '127.0.0.1')).toMatch(/JSON/);
  });

  it('with a token set, every action needs it', async () => {
    const locked = createApp(ws, { token: TOKEN });
    const [id] = (await apiTasks()).map((t) => t.id);
    expect((await post(`/api/tasks/${id}/note`, { text: 'x' }, {}, locked)).status).toBe(401);
    const ok = await post(`/api/tasks/${id}/done`, { outcome: 'not-needed' }, { authorization: `Bearer ${TOKEN}` }, locked);
    expect(ok.status).toBe(200);
    expect(cliTasks('--status', 'all').find((t) => t.task_id === id)).toMatchObject({ status: 'done', outcome: 'not-needed' });
  });
});

interface RenewalRow {
  account_id: string;
  renewal_date: string;
  arr: string;
  owner: string | null;
  risk: number | null;
  health: number | null;
  health_colour: string | null;
  churn_probability_90d: number | null;
  at_risk: boolean;
  arr_at_risk: string;
  expected_arr_loss: string | null;
}
interface Renewals {
  from: string;
  to: string;
  forecast: { status: string; note: string | null };
  total: number;
  by_month: { month: string; accounts: number; arr: string; arr_at_risk: string }[];
  rows: RenewalRow[];
}
const big = (xs: string[]): string => xs.reduce((s, x) => s.plus(x), new Big(0)).toFixed();

describe('renewals and books of business', () => {
  it('GET /api/renewals: the next three months by date, each month summed, ARR at risk by the rule', async () => {
    // Before every account is scored it answers at once from the lines, and says so; scored, the
    // same renewals with the same ARR, owner and segment (the lines' reading equals the records').
    const early = (await (await app.request('/api/renewals')).json()) as Renewals & { scores: { status: string } };
    expect(early.scores.status).toBe('computing');
    expect(early.rows.every((x) => x.risk === null && x.health === null && !x.at_risk)).toBe(true);
    const accounts = ((await (await app.request('/api/accounts?limit=100000')).json()) as { rows: { account_id: string; renewal_date: string | null }[] }).rows;
    const r = (await (await app.request('/api/renewals')).json()) as Renewals & { scores: { status: string } };
    expect(r.scores.status).toBe('ready');
    const key = (x: RenewalRow & { segment?: string | null }) => `${x.account_id} ${x.renewal_date} ${x.arr} ${x.owner} ${x.segment}`;
    expect(early.rows.map(key)).toEqual(r.rows.map(key));
    expect([r.from, r.to]).toEqual(['2026-07', '2026-09']);
    expect(r.total).toBe(r.rows.length);
    expect(r.rows.length).toBeGreaterThan(0);
    // Every account whose contract ends in the range, and no other.
    expect(r.rows.map((x) => x.account_id).sort()).toEqual(accounts.filter((a) => a.renewal_date !== null && a.renewal_date >= '2026-07-01' && a.renewal_date <= '2026-09-30').map((a) => a.account_id).sort());
    for (const [i, x] of r.rows.entries()) {
      if (i > 0) expect(x.renewal_date >= r.rows[i - 1]!.renewal_date).toBe(true);
      expect(x.at_risk).toBe(x.health_colour === 'red' || (x.risk !== null && x.risk >= 50));
      expect(x.arr_at_risk).toBe(x.at_risk ? x.arr : '0');
    }
    expect(r.by_month.map((m) => m.month)).toEqual(['2026-07', '2026-08', '2026-09']);
    for (const m of r.by_month) {
      const mine = r.rows.filter((x) => x.renewal_date.startsWith(m.month));
      expect([m.accounts, m.arr, m.arr_at_risk]).toEqual([mine.length, big(mine.map((x) => x.arr)), big(mine.map((x) => x.arr_at_risk))]);
    }
    // The CLI lists the same renewals.
    const out = cli('renewals', '--data', dir, '-q', '--format', 'json');
    expect(out.status).toBe(0);
    const fromCli = JSON.parse(out.stdout) as { rows: { account_id: string; renewal_date: string }[] };
    expect(fromCli.rows.map((x) => `${x.account_id} ${x.renewal_date}`)).toEqual(r.rows.map((x) => `${x.account_id} ${x.renewal_date}`));
  });

  it('the 90-day churn probability follows once the forecast is computed: null before, never 0 for missing', async () => {
    let r = (await (await app.request('/api/renewals?from=2026-07&to=2026-12')).json()) as Renewals;
    for (let k = 0; k < 240 && r.forecast.status === 'computing'; k++) {
      expect(r.rows.every((x) => x.churn_probability_90d === null && x.expected_arr_loss === null)).toBe(true);
      await new Promise((res) => setTimeout(res, 500));
      r = (await (await app.request('/api/renewals?from=2026-07&to=2026-12')).json()) as Renewals;
    }
    expect(r.forecast.status, r.forecast.note ?? '').toBe('ready');
    const withP = r.rows.filter((x) => x.churn_probability_90d !== null);
    expect(withP.length).toBeGreaterThan(0);
    for (const x of withP) {
      expect(x.churn_probability_90d!).toBeGreaterThanOrEqual(0);
      expect(x.churn_probability_90d!).toBeLessThanOrEqual(1);
      expect(x.expected_arr_loss).toBe(new Big(x.arr).times(x.churn_probability_90d!).round(2, Big.roundHalfUp).toFixed());
    }
  }, 150_000);

  it('GET /api/book: per owner, adding up to the company; the CLI prints the same', async () => {
    const book = (await (await app.request('/api/book')).json()) as { rows: { owner: string; accounts: number; arr: string; open_tasks: number; overdue_tasks: number; renewals_90d: number }[] };
    const accounts = ((await (await app.request('/api/accounts?limit=100000')).json()) as { rows: { arr: string; days_to_renewal: number | null }[] }).rows;
    expect(book.rows.reduce((s, r) => s + r.accounts, 0)).toBe(accounts.length);
    expect(big(book.rows.map((r) => r.arr))).toBe(big(accounts.map((a) => a.arr)));
    expect(book.rows.reduce((s, r) => s + r.renewals_90d, 0)).toBe(accounts.filter((a) => a.days_to_renewal !== null && a.days_to_renewal >= 0 && a.days_to_renewal <= 90).length);
    const open = await apiTasks();
    expect(book.rows.reduce((s, r) => s + r.open_tasks, 0)).toBe(open.length);
    expect(book.rows.reduce((s, r) => s + r.overdue_tasks, 0)).toBe(open.filter((t) => t.overdue).length);
    const one = book.rows[0]!;
    expect((await (await app.request(`/api/book?owner=${encodeURIComponent(one.owner.toUpperCase())}`)).json()) as unknown).toMatchObject({ total: 1, rows: [one] });
    const out = cli('book', '--data', dir, '-q', '--format', 'json');
    expect(JSON.parse(out.stdout).map((r: { owner: string; accounts: number }) => `${r.owner} ${r.accounts}`)).toEqual(book.rows.map((r) => `${r.owner} ${r.accounts}`));
  });

  it('GET /api/renewals?compare=1: the prior period’s count and ARR are `nrr renewals --as-of` that many months earlier', async () => {
    type Prior = { from: string; to: string; as_of: string; accounts: number; arr: string };
    for (const filter of ['', '&region=EMEA']) {
      const r = (await (await app.request(`/api/renewals?from=2026-07&to=2026-12&compare=1${filter}`)).json()) as Renewals & { as_of: string; prior: Prior };
      // Six months before the range, as the book stood six months before the day.
      expect([r.prior.from, r.prior.to]).toEqual(['2026-01', '2026-06']);
      expect([r.as_of, r.prior.as_of]).toEqual([DAY, '2026-01-01']);
      const out = cli('renewals', '--data', dir, '-q', '--format', 'json', '--as-of', r.prior.as_of, '--from', '2026-01', '--to', '2026-06', ...(filter ? ['--where', 'region=EMEA'] : []));
      expect(out.stderr).toBe('');
      // The CLI writes money as JSON numbers with every digit: read them as text, not as floats.
      const fromCli = JSON.parse(out.stdout.replace(/"arr": (-?\d+(?:\.\d+)?)/g, '"arr": "$1"')) as { rows: { arr: string }[] };
      expect(fromCli.rows.length).toBeGreaterThan(0);
      expect([r.prior.accounts, r.prior.arr]).toEqual([fromCli.rows.length, big(fromCli.rows.map((x) => x.arr))]);
    }
    // A range whose shifted day is before the data has no prior period; without compare there is none at all.
    const far = (await (await app.request('/api/renewals?from=2026-07&to=2028-12&compare=1')).json()) as { prior: Prior | null };
    expect(far.prior).toBeNull();
    expect('prior' in ((await (await app.request('/api/renewals?from=2026-07&to=2026-12')).json()) as object)).toBe(false);
  });
});

describe('tasks, renewals and books take any attribute as a filter', () => {
  it('keeps the tasks, renewals and books of the matching accounts only; the CLI’s --where prints the same', async () => {
    const where = { region: 'EMEA', segment: 'smb' };
    const kept = new Set(await filteredAccountIds(ws, where));
    expect(kept.size).toBeGreaterThan(0);
    const q = `region=EMEA&segment=smb`;

    const all = await apiTasks('?status=all');
    const mine = await apiTasks(`?status=all&${q}`);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(all.length);
    expect(mine.map((t) => t.id)).toEqual(all.filter((t) => kept.has(t.account_id)).map((t) => t.id));
    const tasksCli = cli('tasks', '--data', dir, '-q', '--format', 'json', '--status', 'all', '--where', 'region=EMEA', '--where', 'segment=smb');
    expect(tasksCli.stderr).toBe('');
    expect((JSON.parse(tasksCli.stdout) as { task_id: number }[]).map((t) => t.task_id)).toEqual(mine.map((t) => t.id));

    const r = (await (await app.request(`/api/renewals?from=2026-07&to=2026-12&${q}`)).json()) as Renewals;
    const every = (await (await app.request('/api/renewals?from=2026-07&to=2026-12')).json()) as Renewals;
    expect(r.rows.length).toBeGreaterThan(0);
    expect(r.rows.map((x) => x.account_id)).toEqual(every.rows.filter((x) => kept.has(x.account_id)).map((x) => x.account_id));
    // The months sum the filtered renewals, to the cent.
    for (const m of r.by_month) {
      const inMonth = r.rows.filter((x) => x.renewal_date.startsWith(m.month));
      expect([m.accounts, m.arr]).toEqual([inMonth.length, big(inMonth.map((x) => x.arr))]);
    }
    const out = cli('renewals', '--data', dir, '-q', '--format', 'json', '--from', '2026-07', '--to', '2026-12', '--where', 'region=EMEA', '--where', 'segment=smb');
    expect(out.stderr).toBe('');
    const fromCli = JSON.parse(out.stdout) as { by_month: { month: string; accounts: number; arr: string }[]; rows: { account_id: string; arr: string }[] };
    expect(fromCli.rows.map((x) => `${x.account_id} ${x.arr}`)).toEqual(r.rows.map((x) => `${x.account_id} ${x.arr}`));
    expect(fromCli.by_month.map((m) => `${m.month} ${m.accounts} ${m.arr}`)).toEqual(r.by_month.map((m) => `${m.month} ${m.accounts} ${m.arr}`));

    const book = (await (await app.request(`/api/book?${q}`)).json()) as { rows: { owner: string; accounts: number; arr: string; open_tasks: number }[] };
    const accounts = ((await (await app.request(`/api/accounts?limit=100000&${q}`)).json()) as { rows: { arr: string }[] }).rows;
    expect(book.rows.reduce((n, x) => n + x.accounts, 0)).toBe(accounts.length);
    expect(big(book.rows.map((x) => x.arr))).toBe(big(accounts.map((a) => a.arr)));
    expect(book.rows.reduce((n, x) => n + x.open_tasks, 0)).toBe((await apiTasks(`?${q}`)).length);
    const bookCli = cli('book', '--data', dir, '-q', '--format', 'json', '--where', 'region=EMEA', '--where', 'segment=smb');
    expect(bookCli.stderr).toBe('');
    expect((JSON.parse(bookCli.stdout) as { owner: string; accounts: number; arr: string; open_tasks: number }[]).map((x) => `${x.owner} ${x.accounts} ${x.arr} ${x.open_tasks}`)).toEqual(
      book.rows.map((x) => `${x.owner} ${x.accounts} ${x.arr} ${x.open_tasks}`),
    );
  }, 120_000);

  it('an attribute the accounts do not have is a 400 that names it', async () => {
    const res = await app.request('/api/tasks?colour=blue');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/colour/);
    const out = cli('tasks', '--data', dir, '-q', '--where', 'colour=blue');
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/'colour' is not an attribute of the accounts; choose one of: .*segment/);
  });
});

describe('the account page’s timeline and history', () => {
  it('GET /api/accounts/:id/timeline: revenue, signals with their file and row, plays and tasks, newest first', async () => {
    const done = (await apiTasks('?status=done'))[0]!;
    const res = await app.request(`/api/accounts/${done.account_id}/timeline`);
    expect(res.status).toBe(200);
    const t = (await res.json()) as { events: { date: string; kind: string; title: string; detail: string | null; file: string | null; row: number | null }[] };
    const dates = t.events.map((e) => e.date);
    expect(dates).toEqual([...dates].sort().reverse());
    expect(dates.every((d) => d <= DAY)).toBe(true);
    expect(t.events.some((e) => e.kind === 'task' && e.title.includes(`task ${done.id} done`))).toBe(true);
    expect(t.events.some((e) => e.kind === 'play' && e.title.startsWith('entered play'))).toBe(true);
    // One revenue event per movement of the account up to the day.
    const moves = ((await (await app.request(`/api/movements?account=${done.account_id}&from=2024-07&to=2026-06`)).json()) as { rows: unknown[] }).rows;
    expect(t.events.filter((e) => e.kind === 'revenue')).toHaveLength(moves.length);
    for (const e of t.events.filter((x) => !['revenue', 'task', 'play'].includes(x.kind))) {
      expect(e.file, e.title).toMatch(/\.csv$/);
      expect(e.row).toBeGreaterThan(0);
    }
    expect((await app.request('/api/accounts/NO-SUCH/timeline')).status).toBe(404);
  });

  it('GET /api/accounts/:id/history: twelve month-ends of MRR, health, risk, seats and users, and what excludes usage', async () => {
    const id = ((await (await app.request('/api/accounts?sort=arr&limit=1')).json()) as { rows: { account_id: string; mrr: string; health: number | null }[] }).rows[0]!;
    const res = await app.request(`/api/accounts/${id.account_id}/history`);
    expect(res.status).toBe(200);
    const h = (await res.json()) as { points: { month: string; date: string; mrr: string; health: number | null; seats_purchased: number | null }[]; usage_policy: string; excludes_usage: string[] };
    expect(h.points.map((p) => p.month)).toEqual(Array.from({ length: 12 }, (_, k) => `${k < 6 ? 2025 : 2026}-${String(((k + 6) % 12) + 1).padStart(2, '0')}`));
    expect(h.points.at(-1)!.date).toBe('2026-06-30');
    // The month-ends agree with the ledger (`nrr mrr`).
    const explained = (await (await app.request(`/api/explain?account=${id.account_id}`)).json()) as { mrr: string };
    expect(h.points.at(-1)!.mrr).toBe(explained.mrr);
    for (const p of h.points) if (p.health !== null) expect(p.health).toBeGreaterThanOrEqual(0);
    expect([h.usage_policy, h.excludes_usage]).toEqual(['include', []]);
    expect((await app.request('/api/accounts/NO-SUCH/history')).status).toBe(404);
  });
});
