import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, generateCompany } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import type { RunningServer } from '../src/serve/start-server.js';
import { formatMoney } from '../web/src/money-format.js';
import { closeServed, haveChromium, serveInChromium } from './helpers/chromium.js';

/**
 * The Tasks page in Chromium: its actions (done with an outcome, snooze, reassign, note) write
 * through the API, and `nrr tasks` (the CLI, another process) then reads the changed state. Its
 * overdue and this-week views list what the CLI lists. Needs `npm run build` (dist/).
 */
const haveBrowser = haveChromium('the dashboard task tests');
/** The plays run on RUN; the server and the CLI look on DAY, three weeks later, when some tasks are overdue. */
const RUN = '2026-07-01';
const EARLIER_RUN = '2026-06-01';
const DAY = '2026-07-22';
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const SHOTS = join(process.cwd(), 'test-artifacts', 'dashboard');
let dir: string;
let ws: Workspace;
let server: RunningServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];

interface CliTask {
  task_id: number;
  account_id: string;
  type: string;
  due_date: string;
  owner: string;
  status: string;
  outcome: string | null;
  note: string | null;
  notes: string | null;
  snoozed_until: string | null;
  overdue: boolean;
}
function cliTasks(...args: string[]): CliTask[] {
  const r = spawnSync(process.execPath, [BIN, 'tasks', '--data', dir, '-q', '--format', 'json', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: DAY } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as CliTask[];
}
const base = (): string => server.url.replace(/\/$/, '');
async function open(path: string): Promise<void> {
  await page.goto(`${base()}${path}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
}
/** Opens the action form of task `id`, fills it and waits for the list to come back with its message. */
async function act(id: number, action: string, fill: (form: string) => Promise<void>): Promise<string> {
  await page.click(`button[data-action="${action}"][data-task="${id}"]`);
  const form = `form[data-form="${action}"][data-task="${id}"]`;
  await page.waitForSelector(form);
  await fill(form);
  await page.evaluate(() => (document.body.dataset['ready'] = 'false'));
  await page.click(`${form} button[type="submit"]`);
  await page.waitForSelector('body[data-ready="true"]');
  return (await page.textContent('[data-flash]')) ?? '';
}

describe.skipIf(!haveBrowser || !existsSync(BIN))('the Tasks page acts through the API', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'nrr-tasks-ui-'));
    await generateCompany({ out: dir, accounts: 300, months: 24, seed: 21, end: '2026-06' });
    // Two runs a month apart: tasks fall due in more than one month (the due-range test cuts them).
    for (const day of [EARLIER_RUN, RUN]) {
      const run = await Workspace.open({ data: dir, signals: true, today: new Date(`${day}T00:00:00Z`) });
      await runPlaybooks(run, {});
      run.close();
    }
    ws = await Workspace.open({ data: dir, signals: true, today: new Date(`${DAY}T00:00:00Z`) });
    ({ server, browser } = await serveInChromium(ws));
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  }, 180_000);
  afterAll(async () => {
    await closeServed({ browser, server, ws, dir });
  });

  it('lists the open tasks the CLI lists; overdue and this week as the CLI filters them', async () => {
    const open_ = cliTasks();
    expect(open_.length).toBeGreaterThan(4);
    await open('/tasks?view=all');
    const shown = await page.locator('#tasks tbody tr[data-task-row]').evaluateAll((trs) => trs.map((t) => Number(t.getAttribute('data-task-row'))));
    expect(shown).toEqual(open_.map((t) => t.task_id));
    for (const [view, due] of [['overdue', 'overdue'], ['week', 'week']] as const) {
      await open(`/tasks?view=${view}`);
      const ids = await page.locator('#tasks tbody tr[data-task-row]').evaluateAll((trs) => trs.map((t) => Number(t.getAttribute('data-task-row'))));
      const want = cliTasks('--due', due).map((t) => t.task_id);
      expect(ids, view).toEqual(want);
      if (view === 'overdue') expect(want.length, 'some tasks are overdue three weeks after the run').toBeGreaterThan(0);
    }
    // By owner: each owner's count is the CLI's count for that owner.
    await open('/tasks?view=owners');
    const owner = open_[0]!.owner;
    expect(await page.textContent(`[data-owner-tasks="${owner}"]`)).toBe(String(open_.filter((t) => t.owner === owner).length));
  });

  it('a range of due months lists what nrr tasks --due-from --due-to lists, and stays in the URL', async () => {
    const all = cliTasks('--status', 'all');
    const months = [...new Set(all.map((t) => (t as unknown as { due_date: string }).due_date.slice(0, 7)))].sort();
    expect(months.length, 'the tasks fall due in more than one month').toBeGreaterThan(1);
    const [first, last] = [months[0]!, months[months.length - 1]!];
    const want = cliTasks('--status', 'all', '--due-from', last, '--due-to', last).map((t) => t.task_id);
    // A real cut: some tasks, not all of them.
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(all.length);
    await open('/tasks?view=all&status=all');
    // Chosen with the pickers: the URL keeps them, the list is the CLI's.
    await page.evaluate(() => (document.body.dataset['ready'] = 'false'));
    await page.selectOption('select[data-param="due_from"]', last);
    await page.waitForSelector('body[data-ready="true"]');
    await page.evaluate(() => (document.body.dataset['ready'] = 'false'));
    await page.selectOption('select[data-param="due_to"]', last);
    await page.waitForSelector('body[data-ready="true"]');
    expect(new URL(page.url()).searchParams.get('due_from')).toBe(last);
    expect(new URL(page.url()).searchParams.get('due_to')).toBe(last);
    const ids = await page.locator('#tasks tbody tr[data-task-row]').evaluateAll((trs) => trs.map((t) => Number(t.getAttribute('data-task-row'))));
    expect(ids).toEqual(want);
    expect(await page.textContent('[data-due-range]')).toBe(`Due in ${last}`);
    // The views keep the range: overdue within it is the CLI's overdue within it.
    await open(`/tasks?view=overdue&due_from=${first}&due_to=${first}`);
    const overdue = await page.locator('#tasks tbody tr[data-task-row]').evaluateAll((trs) => trs.map((t) => Number(t.getAttribute('data-task-row'))));
    expect(overdue).toEqual(cliTasks('--due', 'overdue', '--due-from', first, '--due-to', first).map((t) => t.task_id));
    expect(await page.getAttribute('a.tab[href*="view=week"]', 'href')).toContain(`due_from=${first}`);
    // The API refuses a range that ends before it starts, naming both ends.
    const bad = await fetch(`${base()}/api/tasks?due_from=${last}&due_to=${first}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain(`due_from: ${last} is after due_to (${first})`);
  });

  it('done, snooze, reassign and note change what nrr tasks reads', async () => {
    const [a, b, c, d] = cliTasks();
    await open('/tasks?view=all');
    await page.screenshot({ path: join(SHOTS, 'tasks-actions-before.png') });

    expect(await act(a!.task_id, 'done', async (f) => {
      await page.selectOption(`${f} select[name="outcome"]`, 'won');
      await page.fill(`${f} input[name="note"]`, 'signed 20 more seats');
    })).toContain('done, won');
    const done = cliTasks('--status', 'all').find((t) => t.task_id === a!.task_id)!;
    expect([done.status, done.outcome]).toEqual(['done', 'won']);
    expect(`${done.note ?? ''} ${done.notes ?? ''}`).toContain('signed 20 more seats');
    // Gone from the open list on the page.
    expect(await page.locator(`tr[data-task-row="${a!.task_id}"]`).count()).toBe(0);

    expect(await act(b!.task_id, 'snooze', async (f) => page.fill(`${f} input[name="until"]`, '2026-08-10'))).toContain('snoozed until 2026-08-10');
    expect(cliTasks('--status', 'all').find((t) => t.task_id === b!.task_id)!.snoozed_until).toBe('2026-08-10');

    expect(await act(c!.task_id, 'reassign', async (f) => page.fill(`${f} input[name="owner"]`, 'Test Owner'))).toContain('reassigned to Test Owner');
    expect(cliTasks('--owner', 'Test Owner').map((t) => t.task_id)).toEqual([c!.task_id]);

    expect(await act(d!.task_id, 'note', async (f) => page.fill(`${f} input[name="text"]`, 'called the sponsor'))).toContain('note added');
    const noted = cliTasks().find((t) => t.task_id === d!.task_id)!;
    expect(`${noted.note ?? ''} ${noted.notes ?? ''}`).toContain('called the sponsor');
    await page.screenshot({ path: join(SHOTS, 'tasks-actions-after.png') });
  });

  it('a refused action says why in the form and changes nothing', async () => {
    const [t] = cliTasks();
    await open('/tasks?view=all');
    await page.click(`button[data-action="snooze"][data-task="${t!.task_id}"]`);
    const form = `form[data-form="snooze"][data-task="${t!.task_id}"]`;
    // A day in the past: the API answers 400 with its reason, shown next to the button.
    await page.fill(`${form} input[name="until"]`, '2020-01-01');
    await page.click(`${form} button[type="submit"]`);
    await page.waitForFunction((sel) => (document.querySelector(`${sel} .form-error`)?.textContent ?? '') !== '', form);
    expect(await page.textContent(`${form} .form-error`)).toMatch(/until/);
    expect(cliTasks().find((x) => x.task_id === t!.task_id)!.snoozed_until).toBeNull();
    errors.splice(0, errors.length, ...errors.filter((e) => !/status of 400/.test(e)));
  });

  it('the summary of a due range is what nrr tasks lists in it, the prior period as many months before; the page shows the API\'s figures', async () => {
    // Close a few more tasks, in both months, with different outcomes (the CLI writes them).
    for (const [month, outcomes] of [['2026-06', ['won', 'lost']], ['2026-07', ['no-change', 'won']]] as const) {
      const open_ = cliTasks('--due-from', month, '--due-to', month);
      expect(open_.length, month).toBeGreaterThan(outcomes.length);
      outcomes.forEach((outcome, i) => {
        const r = spawnSync(process.execPath, [BIN, 'tasks', 'done', String(open_[i]!.task_id), '--outcome', outcome, '--data', dir], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: DAY } });
        expect(r.status, r.stderr).toBe(0);
      });
    }
    // The ARR of every account, as /api/accounts serves it (decimal text).
    const accounts = (await (await fetch(`${base()}/api/accounts?limit=100000`)).json()) as { rows: { account_id: string; arr: string }[] };
    const arrOf = new Map(accounts.rows.map((a) => [a.account_id, a.arr]));
    /** The summary worked out from the CLI's rows of the range, apart from the engine's summary code. */
    const expected = (from: string, to: string) => {
      const rows = cliTasks('--status', 'all', '--due-from', from, '--due-to', to);
      const n = (f: (t: CliTask) => boolean): number => rows.filter(f).length;
      const share = (count: number, of: number) => ({ count, of, rate: of === 0 ? null : count / of });
      const done = n((t) => t.status === 'done');
      const won = (types: string[]) => share(n((t) => t.status === 'done' && types.includes(t.type) && t.outcome === 'won'), n((t) => t.status === 'done' && types.includes(t.type)));
      const ids = [...new Set(rows.map((t) => t.account_id))];
      return {
        due_from: from, due_to: to, tasks: rows.length,
        statuses: Object.fromEntries(['open', 'snoozed', 'done', 'exited'].map((k) => [k, share(n((t) => t.status === k), rows.length)])),
        overdue: share(n((t) => t.overdue), n((t) => t.status === 'open')),
        outcomes: Object.fromEntries(['won', 'lost', 'no-change', 'not-needed'].map((k) => [k, share(n((t) => t.status === 'done' && t.outcome === k), done)])),
        retained: won(['save', 'risk', 'renewal']),
        expanded: won(['expansion']),
        accounts: ids.length,
        arr: ids.reduce((sum, a) => sum.plus(arrOf.get(a) ?? '0'), new Big(0)).toFixed(),
      };
    };
    type Answer = { as_of: string; arr_as_of: string; summary: ReturnType<typeof expected>; prior?: ReturnType<typeof expected> };
    const api = async (q: string): Promise<Answer> => {
      const res = await fetch(`${base()}/api/tasks/summary?${q}`);
      expect(res.status, q).toBe(200);
      return (await res.json()) as Answer;
    };
    const july = await api('due_from=2026-07&due_to=2026-07&compare=1');
    expect(july.summary).toEqual(expected('2026-07', '2026-07'));
    // The prior period of July is June; both have tasks and a done one of each outcome closed above.
    expect(july.prior).toEqual(expected('2026-06', '2026-06'));
    expect(july.prior!.tasks).toBeGreaterThan(0);
    expect(july.summary.statuses.done.count).toBeGreaterThanOrEqual(3);
    expect(july.prior!.outcomes.lost.count).toBeGreaterThanOrEqual(1);
    // A year from July to June: the prior year (2025-07…2026-06) holds exactly June's tasks.
    const year = await api('due_from=2026-07&due_to=2027-06&compare=1');
    expect([year.prior!.due_from, year.prior!.due_to]).toEqual(['2025-07', '2026-06']);
    expect(year.prior).toEqual(expected('2025-07', '2026-06'));
    expect(year.prior!.tasks).toBe(july.prior!.tasks);
    expect(year.summary).toEqual(expected('2026-07', '2027-06'));
    // Across a year end, with hand-checked ends: January–February's prior period is November–December.
    const winter = await api('due_from=2027-01&due_to=2027-02&compare=1');
    expect([winter.prior!.due_from, winter.prior!.due_to]).toEqual(['2026-11', '2026-12']);
    // The CLI's summary is the API's, figure for figure (its JSON writes money as a number with every digit: read as text).
    const r = spawnSync(process.execPath, [BIN, 'tasks', '--summary', '--compare', '--due-from', '2026-07', '--due-to', '2026-07', '--data', dir, '-q', '--format', 'json'], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: DAY } });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.replace(/"arr": (-?\d+(?:\.\d+)?)/g, '"arr": "$1"'))).toEqual(july);
    // Compare without both ends of the range is refused, saying why.
    const bad = await fetch(`${base()}/api/tasks/summary?due_from=2026-07&compare=1`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('compare: needs due_from and due_to');

    // The page: the checkbox puts compare=1 in the URL; every figure is the API's, now and before.
    await open('/tasks?view=all&status=all&due_from=2026-07&due_to=2026-07');
    expect(await page.locator('#task-summary [data-prior-count]').count()).toBe(0);
    await page.evaluate(() => (document.body.dataset['ready'] = 'false'));
    await page.check('input[data-param="compare"]');
    await page.waitForSelector('body[data-ready="true"]');
    expect(new URL(page.url()).searchParams.get('compare')).toBe('1');
    await page.screenshot({ path: join(SHOTS, 'tasks-summary-compare.png'), fullPage: true });
    const cells = await page.locator('#task-summary tr[data-figure]').evaluateAll((trs) =>
      trs.map((tr) => ({
        figure: tr.getAttribute('data-figure')!,
        now: tr.querySelector('[data-now-count]')!.textContent!,
        nowRate: tr.querySelector('[data-now-rate]')!.textContent!,
        prior: tr.querySelector('[data-prior-count]')!.textContent!,
        priorRate: tr.querySelector('[data-prior-rate]')!.textContent!,
        change: tr.querySelector('[data-change]')!.textContent!,
      })),
    );
    const rateText = (x: { count: number; of: number; rate: number | null }): string => `${x.rate === null ? '—' : `${(x.rate * 100).toFixed(1)}%`} of ${x.of}`;
    const signed = (d: number): string => (d > 0 ? `+${d}` : String(d));
    const figure = (s: ReturnType<typeof expected>, key: string): { count: number; rate?: { count: number; of: number; rate: number | null } } => {
      const rate = key === 'overdue' || key === 'retained' || key === 'expanded' ? s[key] : key.startsWith('done-') ? s.outcomes[key.slice(5) as 'won'] : key in s.statuses ? s.statuses[key as 'open'] : undefined;
      return { count: rate?.count ?? (key === 'tasks' ? s.tasks : s.accounts), rate };
    };
    const [now, before] = [july.summary, july.prior!];
    expect(cells.map((c) => c.figure)).toEqual(['tasks', 'open', 'snoozed', 'done', 'exited', 'overdue', 'done-won', 'done-lost', 'done-no-change', 'done-not-needed', 'retained', 'expanded', 'accounts', 'arr']);
    for (const c of cells) {
      if (c.figure === 'arr') {
        expect(c.now).toBe(formatMoney(now.arr, 'USD'));
        expect(c.prior).toBe(formatMoney(before.arr, 'USD'));
        expect(c.change).toBe(`${new Big(now.arr).gt(before.arr) ? '+' : ''}${formatMoney(new Big(now.arr).minus(before.arr).toFixed(), 'USD')}`);
        continue;
      }
      const [a, b] = [figure(now, c.figure), figure(before, c.figure)];
      expect([c.now, c.prior, c.change], c.figure).toEqual([String(a.count), String(b.count), signed(a.count - b.count)]);
      if (a.rate) expect([c.nowRate, c.priorRate], c.figure).toEqual([rateText(a.rate), rateText(b.rate!)]);
    }
  });

  it('no page logged an error', () => {
    expect(errors).toEqual([]);
  });
});
