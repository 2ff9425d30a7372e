import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';
import { withState } from './helpers/play-state.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const MONTHS = ['2024-06', '2024-07', '2024-08', '2024-09', '2024-10', '2024-11', '2024-12', '2025-01'];
const MONTH_ENDS = ['2024-06-30', '2024-07-31', '2024-08-31', '2024-09-30', '2024-10-31', '2024-11-30', '2024-12-31', '2025-01-31'];

/**
 * BIG's seats: full (95 of 100) except in August and November (60). BIG2 is bigger and always full;
 * S1 and S2 are small and full. Everyone has the same AM, Abe.
 */
function files(config: string): Record<string, string> {
  const util: Record<string, number[]> = { BIG: [95, 95, 60, 95, 95, 60, 95, 95], BIG2: MONTHS.map(() => 95), S1: MONTHS.map(() => 9), S2: MONTHS.map(() => 9) };
  const seats = ['account_id,month,seats_purchased,seats_active'];
  for (const [id, active] of Object.entries(util)) MONTHS.forEach((m, i) => seats.push(`${id},${m},${id.startsWith('S') ? 10 : 100},${active[i]}`));
  return {
    'subscriptions.csv': csv(
      'account_id,start_date,end_date,amount,interval',
      'BIG,2024-01-01,2025-06-01,150000,year',
      'BIG2,2024-01-01,2025-06-01,200000,year',
      'S1,2024-01-01,,300,month',
      'S2,2024-01-01,,200,month',
    ),
    'accounts.csv': csv('account_id,name,csm_owner,am_owner', 'BIG,Big Co,Cara,Abe', 'BIG2,Bigger Co,Cara,Abe', 'S1,Small One,Dev,Abe', 'S2,Small Two,Dev,Abe'),
    'seats.csv': seats.join('\n') + '\n',
    'nrr.config.yaml': config,
  };
}

async function open(config: string): Promise<Workspace> {
  const dir = fixtureDir(files(config));
  dirs.push(dir);
  return Workspace.open({ data: dir, signals: true, policies: { as_of: '2025-01' } });
}


const BIG_ONLY = `version: 1
playbooks:
  - name: full-seats
    when: seat_utilisation > 0.8 and arr >= 150000 and arr < 200000
    task: { type: expansion, priority: high, due_days: 14, owner: am }
    cooldown_days: 40
    max_entries_per_year: 2
  - name: sticky
    when: seat_utilisation > 0.8 and arr >= 150000 and arr < 200000
    exit: seat_utilisation < 0.5
    task: { type: expansion, owner: csm }
`;

describe('nrr playbooks run: enter and exit, one task per play, cooldown, yearly limit', () => {
  it('follows BIG month by month', async () => {
    const ws = await open(BIG_ONLY);
    try {
      const r = [];
      // June: BIG enters both plays; a task opens for the AM and one for the CSM.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[0] }));
      expect(r[0]!.plays.map((p) => [p.playbook, p.entered, p.open_tasks])).toEqual([
        ['full-seats', 1, 1],
        ['sticky', 1, 1],
      ]);
      await withState(ws, async (s) => {
        const tasks = await s.tasks();
        expect(tasks.map((t) => [t.playbook, t.account_id, t.owner, t.status, t.due_date])).toEqual([
          ['sticky', 'BIG', 'Cara', 'open', '2024-07-14'],
          ['full-seats', 'BIG', 'Abe', 'open', '2024-07-14'],
        ]);
        // The rules' version and the values that fired it go with the task.
        expect(tasks[1]!.config_version).toBe(ws.scoring.playbookVersion);
        expect(JSON.parse(tasks[1]!.reasons)).toMatchObject({ values: { seat_utilisation: 0.95, arr: 150000 } });
        // The AM closes the task in July.
        await s.closeTask(tasks[1]!.task_id, 'won', 'sold 20 seats', '2024-07-10');
      });
      // July: still full. BIG is still in the play: the done task is not opened again.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[1] }));
      expect(r[1]!.plays[0]).toMatchObject({ entered: 0, exited: 0, open_tasks: 0 });
      // August: 60 %. BIG leaves full-seats; sticky's exit rule (< 50 %) does not hold, so it stays.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[2] }));
      expect(r[2]!.plays.map((p) => [p.entered, p.exited])).toEqual([
        [0, 1],
        [0, 0],
      ]);
      // September: full again, but 30 days after leaving, inside the 40-day cooldown.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[3] }));
      expect(r[3]!.plays[0]).toMatchObject({ entered: 0, held_cooldown: 1 });
      // October: 61 days after: enters again, second entry in the year.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[4] }));
      expect(r[4]!.plays[0]).toMatchObject({ entered: 1, open_tasks: 1 });
      // November: leaves again; its open task closes as exited.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[5] }));
      expect(r[5]!.plays[0]).toMatchObject({ exited: 1, open_tasks: 0 });
      // December: cooldown (31 days); January: past the cooldown but two entries within 365 days.
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[6] }));
      expect(r[6]!.plays[0]).toMatchObject({ held_cooldown: 1, entered: 0 });
      r.push(await runPlaybooks(ws, { asOf: MONTH_ENDS[7] }));
      expect(r[7]!.plays[0]).toMatchObject({ held_yearly_limit: 1, entered: 0, held_cooldown: 0 });

      await withState(ws, async (s) => {
        const full = await s.tasks({ playbook: 'full-seats' });
        expect(full.map((t) => [t.opened_on, t.status, t.closed_on, t.outcome])).toEqual([
          ['2024-10-31', 'exited', '2024-11-30', null],
          ['2024-06-30', 'done', '2024-07-10', 'won'],
        ]);
        // sticky: one task all along, never a second one.
        expect((await s.tasks({ playbook: 'sticky' })).map((t) => t.status)).toEqual(['open']);
        const events = await s.events({ playbook: 'full-seats' });
        expect(events.map((e) => `${e.on_date} ${e.kind}`).reverse()).toEqual([
          '2024-06-30 enter',
          '2024-08-31 exit',
          '2024-09-30 held',
          '2024-10-31 enter',
          '2024-11-30 exit',
          '2024-12-31 held',
          '2025-01-31 held',
        ]);
        const exit = events.find((e) => e.on_date === '2024-08-31')!;
        expect(JSON.parse(exit.reasons)).toEqual({ exit: 'trigger no longer holds: seat_utilisation > 0.8 and arr >= 150000 and arr < 200000' });
        expect(events.every((e) => e.config_version === ws.scoring.playbookVersion)).toBe(true);
      });
      // Runs go forward in time.
      await expect(runPlaybooks(ws, { asOf: '2024-12-31', runKey: 'late' })).rejects.toThrow(/runs go forward in time: the last run .* was as of 2025-01-31/);
    } finally {
      ws.close();
    }
  });

  it('a run key already recorded records nothing, also after a restart', async () => {
    const ws = await open(BIG_ONLY);
    const first = await runPlaybooks(ws, { asOf: MONTH_ENDS[0] });
    const again = await runPlaybooks(ws, { asOf: MONTH_ENDS[0] });
    expect(first.already_recorded).toBe(false);
    expect(again.already_recorded).toBe(true);
    expect(again.run_key).toBe(`2024-06-30/${ws.scoring.playbookVersion}`);
    const dir = ws.dataDir;
    ws.close();
    // A new process: the same folder opened again.
    const ws2 = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2025-01' } });
    try {
      const third = await runPlaybooks(ws2, { asOf: MONTH_ENDS[0] });
      expect(third.already_recorded).toBe(true);
      expect(third.plays.map((p) => p.entered)).toEqual([1, 1]);
      // Another key on the same day evaluates again, but BIG is in both plays: no second task.
      const other = await runPlaybooks(ws2, { asOf: MONTH_ENDS[0], runKey: 'manual-2' });
      expect(other.plays.map((p) => p.entered)).toEqual([0, 0]);
      await withState(ws2, async (s) => expect((await s.tasks()).length).toBe(2));
    } finally {
      ws2.close();
    }
  });

  it('a changed rule is a new rules version', async () => {
    const a = await open(BIG_ONLY);
    const b = await open(BIG_ONLY.replace('cooldown_days: 40', 'cooldown_days: 41'));
    const c = await open(BIG_ONLY.replace('max_entries_per_year: 2\n', 'max_entries_per_year: 2\n    notify: []\n'));
    try {
      expect(a.scoring.playbookVersion).toMatch(/^[0-9a-f]{12}$/);
      expect(b.scoring.playbookVersion).not.toBe(a.scoring.playbookVersion);
      // Spelling out a default changes nothing.
      expect(c.scoring.playbookVersion).toBe(a.scoring.playbookVersion);
    } finally {
      [a, b, c].forEach((w) => w.close());
    }
  });
});

describe('nrr playbooks run: daily budget per owner', () => {
  const CONFIG = `version: 1
playbook_settings:
  daily_budget_per_owner: 1
playbooks:
  - name: full-seats
    when: seat_utilisation > 0.8
    task: { type: expansion, owner: { by_tier: { "1": am, "2": digital, "3": digital } } }
`;
  it('gives each owner at most the budget, largest ARR first; the rest wait for the next day; a digital sequence has no limit', async () => {
    const ws = await open(CONFIG);
    try {
      const june = await runPlaybooks(ws, { asOf: MONTH_ENDS[0] });
      expect(june.plays[0]).toMatchObject({ entered: 3, held_budget: 1 });
      const july = await runPlaybooks(ws, { asOf: MONTH_ENDS[1] });
      expect(july.plays[0]).toMatchObject({ entered: 1, held_budget: 0 });
      await withState(ws, async (s) => {
        const tasks = await s.tasks();
        const byAccount = Object.fromEntries(tasks.map((t) => [t.account_id, [t.owner, t.opened_on]]));
        expect(byAccount).toEqual({
          BIG2: ['Abe', '2024-06-30'],
          BIG: ['Abe', '2024-07-31'],
          S1: ['digital sequence', '2024-06-30'],
          S2: ['digital sequence', '2024-06-30'],
        });
        const held = (await s.events()).find((e) => e.kind === 'held')!;
        expect(held).toMatchObject({ account_id: 'BIG', on_date: '2024-06-30' });
        expect(JSON.parse(held.reasons).held).toBe('Abe already has 1 new tasks today');
      });
    } finally {
      ws.close();
    }
  });
});
