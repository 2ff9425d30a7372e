import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, generateCompany } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { startServer, type RunningServer } from '../src/serve/start-server.js';
import { removeDir } from './helpers/fixture-dir.js';

/**
 * The Tasks page in Chromium: its actions (done with an outcome, snooze, reassign, note) write
 * through the API, and `nrr tasks` (the CLI, another process) then reads the changed state. Its
 * overdue and this-week views list what the CLI lists. Needs `npm run build` (dist/).
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  if (process.env['CI'] === 'true') throw new Error(`CI=true and no Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
  console.warn(`\n*** SKIPPING the dashboard task tests: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);
}
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
    server = await startServer(ws, { port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    ws?.close();
    removeDir(dir);
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

  it('no page logged an error', () => {
    expect(errors).toEqual([]);
  });
});
