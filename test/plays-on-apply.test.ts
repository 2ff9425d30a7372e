import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LiveWorkspace, Workspace } from '../src/index.js';
import { statePath } from '../src/playbooks/playbook-settings.js';
import { PlaybookState, type Task } from '../src/playbooks/playbook-state.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { startServer } from '../src/serve/start-server.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const DAY = '2025-01-31';
const MONTHS = ['2024-10', '2024-11', '2024-12', '2025-01'];
const ACCOUNTS = ['BIG', 'MID', 'S1', 'S2', 'S3'];

/**
 * Two plays read the seats of the latest month (seat_utilisation = active / purchased):
 * full-seats enters above 80 % (no exit rule: it leaves when that no longer holds) and tells an
 * outbox; low-seats enters below 50 % and leaves only at 70 % or more.
 */
const CONFIG = `version: 1
policies:
  as_of: '2025-01'
playbook_settings:
  destinations:
    box: { type: outbox, file: outbox.jsonl }
playbooks:
  - name: full-seats
    when: seat_utilisation > 0.8
    task: { type: expansion, priority: high, due_days: 14, owner: am }
    notify: [box]
  - name: low-seats
    when: seat_utilisation < 0.5
    exit: seat_utilisation >= 0.7
    task: { type: risk, priority: normal, due_days: 10, owner: csm }
`;

interface Company {
  /** line_id → [account, start, end, amount a year] */
  lines: Map<string, [string, string, string, number]>;
  /** account|month → [purchased, active] */
  seats: Map<string, [number, number]>;
}

/**
 * BIG: 95 of 100 seats (full-seats), MID: 60 of 100 (neither), S1: 5 of 10 (neither), S2: 3 of 10
 * (low-seats), S3: 9 of 10 (full-seats); the same every month.
 */
function baseCompany(): Company {
  const lines = new Map<string, [string, string, string, number]>([
    ['L-BIG', ['BIG', '2024-01-01', '', 120000]],
    ['L-MID', ['MID', '2024-01-01', '', 60000]],
    ['L-S1', ['S1', '2024-01-01', '', 6000]],
    ['L-S2', ['S2', '2024-01-01', '', 4800]],
    ['L-S3', ['S3', '2024-01-01', '', 3600]],
  ]);
  const use: Record<string, [number, number]> = { BIG: [100, 95], MID: [100, 60], S1: [10, 5], S2: [10, 3], S3: [10, 9] };
  const seats = new Map<string, [number, number]>();
  for (const [id, v] of Object.entries(use)) for (const m of MONTHS) seats.set(`${id}|${m}`, v);
  return { lines, seats };
}

function writeCompany(c: Company, config = CONFIG): string {
  const dir = fixtureDir({
    'subscriptions.csv': [
      ['account_id', 'line_id', 'start_date', 'end_date', 'amount', 'interval'],
      ...[...c.lines].map(([id, [a, s, e, amount]]) => [a, id, s, e, amount, 'year']),
    ],
    'accounts.csv': [['account_id', 'name', 'csm_owner', 'am_owner'], ...ACCOUNTS.map((a, i) => [a, `${a} Co`, i % 2 === 0 ? 'Cara' : 'Dev', 'Abe'])],
    'seats.csv': [['account_id', 'month', 'seats_purchased', 'seats_active'], ...[...c.seats].map(([k, [p, a]]) => [...k.split('|'), p, a])],
    'nrr.config.yaml': config,
  });
  dirs.push(dir);
  return dir;
}

type Batch = Parameters<LiveWorkspace['apply']>[0];

/** The company with a batch applied, as files would hold it. */
function withBatch(c: Company, b: Batch): Company {
  const out: Company = { lines: new Map(c.lines), seats: new Map(c.seats) };
  for (const r of b.rows ?? []) {
    if (b.source === 'seats') out.seats.set(`${String(r['account_id'])}|${String(r['month'])}`, [Number(r['seats_purchased']), Number(r['seats_active'])]);
    else out.lines.set(String(r['line_id']), [String(r['account_id']), String(r['start_date']), String(r['end_date'] ?? ''), Number(r['amount'])]);
  }
  for (const k of b.withdraw ?? []) {
    if (b.source === 'seats') out.seats.delete(`${String(k['account_id'])}|${String(k['month'])}`);
    else out.lines.delete(String(k['line_id']));
  }
  return out;
}

const seatsRow = (account: string, month: string, purchased: number, active: number): Record<string, unknown> => ({
  account_id: account,
  month,
  seats_purchased: purchased,
  seats_active: active,
});

async function tasksOf(dir: string): Promise<Task[]> {
  return PlaybookState.using(join(dir, '.nrr', 'state.duckdb'), { readOnly: true }, (s) => s.tasks());
}

/** What a task is, apart from its id and the run that opened it. */
const shape = (t: Task) => [t.playbook, t.account_id, t.account_name, t.type, t.priority, t.owner, t.opened_on, t.due_date, t.status, t.config_version] as const;
const sorted = <T>(xs: readonly T[]): T[] => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/** A live workspace on the company whose plays have been run once for the day (the state exists). */
async function liveAfterRun(c: Company, config = CONFIG): Promise<{ dir: string; live: LiveWorkspace }> {
  const dir = writeCompany(c, config);
  const live = await LiveWorkspace.open({ data: dir, signals: true });
  await runPlaybooks(live.workspace, { asOf: DAY });
  return { dir, live };
}

/** The tasks of one full run, on a workspace computed from the files alone, with no play state before. */
async function fullRunFromScratch(c: Company): Promise<Task[]> {
  const dir = writeCompany(c);
  const ws = await Workspace.open({ data: dir, signals: true, store: false });
  try {
    await runPlaybooks(ws, { asOf: DAY });
  } finally {
    ws.close();
  }
  return tasksOf(dir);
}

describe('LiveWorkspace.apply evaluates again the plays of the accounts it touched', () => {
  it('an account that now qualifies gets the task a full run gives it; one that no longer does exits; a batch sent again opens nothing', async () => {
    const c = baseCompany();
    const { dir, live } = await liveAfterRun(c);
    try {
      // The first run: BIG and S3 in full-seats (95 %, 90 %), S2 in low-seats (30 %).
      expect(sorted((await tasksOf(dir)).map((t) => [t.playbook, t.account_id, t.status]))).toEqual([
        ['full-seats', 'BIG', 'open'],
        ['full-seats', 'S3', 'open'],
        ['low-seats', 'S2', 'open'],
      ]);
      const outboxBefore = readFileSync(join(dir, 'outbox.jsonl'), 'utf8').trim().split('\n').length;

      // S1 now uses 9 of its 10 seats in January: 90 % > 80 %, it enters full-seats.
      const batch: Batch = { source: 'seats', rows: [seatsRow('S1', '2025-01', 10, 9)], batchId: 'seats-s1' };
      const r = await live.apply(batch);
      expect(r.plays).toMatchObject({ date: DAY, accounts: ['S1'], closed: [], error: null, run_key: `${DAY}/${live.workspace.scoring.playbookVersion}/apply-seats-s1` });
      expect(r.plays!.opened.map((t) => [t.playbook, t.account_id, t.owner])).toEqual([['full-seats', 'S1', 'Abe']]);
      expect(r.plays!.delivered).toEqual([{ destination: 'box', type: 'outbox', file: join(dir, 'outbox.jsonl'), count: 1 }]);
      expect(readFileSync(join(dir, 'outbox.jsonl'), 'utf8').trim().split('\n').length).toBe(outboxBefore + 1);

      // The task is the one a full run on the same data gives S1, field by field (reasons included).
      const expected = (await fullRunFromScratch(withBatch(c, batch))).find((t) => t.account_id === 'S1')!;
      const got = (await tasksOf(dir)).find((t) => t.account_id === 'S1')!;
      expect(shape(got)).toEqual(shape(expected));
      expect(JSON.parse(got.reasons)).toEqual(JSON.parse(expected.reasons));
      expect(JSON.parse(got.reasons)).toMatchObject({ values: { seat_utilisation: 0.9 } });

      // BIG drops to 40 of 100 in January: it leaves full-seats (its task closes as exited) and,
      // below 50 %, enters low-seats, for its CSM (Cara).
      const drop = await live.apply({ source: 'seats', rows: [seatsRow('BIG', '2025-01', 100, 40)], batchId: 'seats-big' });
      expect(drop.plays!.closed.map((t) => [t.playbook, t.account_id])).toEqual([['full-seats', 'BIG']]);
      expect(drop.plays!.opened.map((t) => [t.playbook, t.account_id, t.owner])).toEqual([['low-seats', 'BIG', 'Cara']]);

      // The same batch id again: nothing applied, no play evaluated, no second task.
      const before = await tasksOf(dir);
      const again = await live.apply({ source: 'seats', rows: [seatsRow('BIG', '2025-01', 100, 40)], batchId: 'seats-big' });
      expect(again.already_applied).toBe(true);
      expect(again.plays).toMatchObject({ accounts: [], opened: [], closed: [] });
      expect(await tasksOf(dir)).toEqual(before);

      // A revenue change: MID's line withdrawn; MID is in no play, nothing opens or closes, but it is evaluated.
      const gone = await live.apply({ source: 'subscriptions', withdraw: [{ line_id: 'L-MID' }], batchId: 'mid-gone' });
      expect(gone.accounts).toEqual(['MID']);
      expect(gone.plays).toMatchObject({ accounts: ['MID'], opened: [], closed: [], error: null });

      // The other accounts were left alone: S3 and S2 keep their tasks from the first run.
      const now = await tasksOf(dir);
      expect(sorted(now.map((t) => [t.playbook, t.account_id, t.status]))).toEqual([
        ['full-seats', 'BIG', 'exited'],
        ['full-seats', 'S1', 'open'],
        ['full-seats', 'S3', 'open'],
        ['low-seats', 'BIG', 'open'],
        ['low-seats', 'S2', 'open'],
      ]);
    } finally {
      live.close();
    }
  }, 60_000);

  it("an owner's daily budget counts the tasks every account got that day", async () => {
    // One new task per owner a day: the first run opens full-seats for BIG (the larger ARR) and
    // holds S3 (the same AM, Abe); S2 enters low-seats for its CSM, Dev.
    const { dir, live } = await liveAfterRun(baseCompany(), CONFIG.replace('playbook_settings:\n', 'playbook_settings:\n  daily_budget_per_owner: 1\n'));
    try {
      expect(sorted((await tasksOf(dir)).map((t) => [t.playbook, t.account_id, t.owner]))).toEqual([
        ['full-seats', 'BIG', 'Abe'],
        ['low-seats', 'S2', 'Dev'],
      ]);
      // S1 now qualifies for full-seats, but Abe already has his one task today: S1 waits.
      const r = await live.apply({ source: 'seats', rows: [seatsRow('S1', '2025-01', 10, 9)], batchId: 'budget-s1' });
      expect(r.plays).toMatchObject({ accounts: ['S1'], opened: [], closed: [], error: null });
      const held = await PlaybookState.using(join(dir, '.nrr', 'state.duckdb'), { readOnly: true }, (s) => s.events({ account: 'S1' }));
      expect(held.map((e) => [e.kind, e.run_key, JSON.parse(e.reasons).held])).toEqual([['held', r.plays!.run_key, 'Abe already has 1 new tasks today']]);
    } finally {
      live.close();
    }
  }, 30_000);

  it('without play state (the plays were never run) apply evaluates no play: plays is null', async () => {
    const dir = writeCompany(baseCompany());
    const live = await LiveWorkspace.open({ data: dir, signals: true });
    try {
      const r = await live.apply({ source: 'seats', rows: [seatsRow('S1', '2025-01', 10, 9)] });
      expect(r.plays).toBeNull();
      expect(() => readFileSync(statePath(dir, live.workspace.scoring.playbookSettings))).toThrow();
    } finally {
      live.close();
    }
  }, 30_000);
});

describe('property: the open tasks after a run and an apply equal those of one full run on the data with the change', () => {
  const account = fc.constantFrom(...ACCOUNTS);
  const seatsBatch = fc
    // A batch names each account-month once: two rows for one key are refused, not applied.
    .uniqueArray(fc.record({ account, month: fc.constantFrom('2024-12', '2025-01'), purchased: fc.constantFrom(10, 100), share: fc.integer({ min: 0, max: 10 }) }), {
      minLength: 1,
      maxLength: 3,
      selector: (r) => `${r.account}|${r.month}`,
    })
    .map((rows): Batch => ({ source: 'seats', rows: rows.map((r) => seatsRow(r.account, r.month, r.purchased, (r.purchased * r.share) / 10)) }));
  const withdrawSeats = fc
    .uniqueArray(account, { minLength: 1, maxLength: 2 })
    .map((ids): Batch => ({ source: 'seats', withdraw: ids.map((a) => ({ account_id: a, month: '2025-01' })) }));
  const endLine = fc.constantFrom(...ACCOUNTS).map((a): Batch => ({ source: 'subscriptions', withdraw: [{ line_id: `L-${a}` }] }));
  const newLine = fc
    .record({ account, amount: fc.constantFrom(1200, 250000) })
    .map(({ account: a, amount }): Batch => ({ source: 'subscriptions', rows: [{ account_id: a, line_id: `L-${a}-2`, start_date: '2024-06-01', amount, interval: 'year' }] }));

  it(
    'for random small batches',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(seatsBatch, withdrawSeats, endLine, newLine), async (batch) => {
          const c = baseCompany();
          const { dir, live } = await liveAfterRun(c);
          let applied;
          try {
            applied = await live.apply(batch);
          } finally {
            live.close();
          }
          expect(applied.plays?.error).toBeNull();
          const afterApply = (await tasksOf(dir)).filter((t) => t.status === 'open');
          const scratch = (await fullRunFromScratch(withBatch(c, batch))).filter((t) => t.status === 'open');
          expect(sorted(afterApply.map(shape))).toEqual(sorted(scratch.map(shape)));
          // A task the apply opened carries the reasons a full run gives it.
          const byKey = new Map(scratch.map((t) => [`${t.playbook}|${t.account_id}`, t]));
          for (const t of afterApply.filter((x) => x.run_key === applied.plays!.run_key)) {
            expect(JSON.parse(t.reasons)).toEqual(JSON.parse(byKey.get(`${t.playbook}|${t.account_id}`)!.reasons));
          }
        }),
        { numRuns: 5 },
      );
    },
    180_000,
  );
});

describe('nrr serve: an ingested change evaluates its accounts\' plays at once; a file sync runs them all', () => {
  it('POST /api/ingest answers with the tasks opened; a changed file is followed by a run for every account', async () => {
    const { dir, live } = await liveAfterRun(baseCompany());
    const said: string[] = [];
    const token = 'plays-on-apply-token-0123456789';
    const server = await startServer(live, { port: 0, host: '127.0.0.1', token, watchMs: 100, onSync: (m) => said.push(m) });
    try {
      const res = await fetch(`${server.url}api/ingest/seats`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': 'http-s1' },
        body: JSON.stringify({ rows: [seatsRow('S1', '2025-01', 10, 9)] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { plays: { accounts: string[]; opened: { playbook: string; account_id: string }[]; error: string | null } };
      expect(body.plays).toMatchObject({ accounts: ['S1'], opened: [{ playbook: 'full-seats', account_id: 'S1' }], error: null });
      // No run for every account follows an ingested change: S1's task is the apply's, and no other run is recorded.
      await sleep(2500);
      const keys = async () => PlaybookState.using(join(dir, '.nrr', 'state.duckdb'), { readOnly: true }, async (s) => (await s.query('SELECT run_key FROM play_runs ORDER BY recorded_at')).map((r) => String(r['run_key'])));
      expect(await keys()).toEqual([`${DAY}/${live.workspace.scoring.playbookVersion}`, `${DAY}/${live.workspace.scoring.playbookVersion}/apply-http-s1`]);
      // S3's seats drop to 2 of 10 in the file: after the sync (and 2 s without another), a run for every account.
      const text = readFileSync(join(dir, 'seats.csv'), 'utf8').replace('S3,2025-01,10,9', 'S3,2025-01,10,2');
      expect(text).toContain('S3,2025-01,10,2');
      writeFileSync(join(dir, 'seats.csv'), text);
      for (let i = 0; i < 100 && !said.some((m) => m.startsWith('plays evaluated again')); i++) await sleep(100);
      expect(said.find((m) => m.startsWith('plays evaluated again'))).toBe('plays evaluated again after the change: opened 1 task(s), closed 1');
      const tasks = await tasksOf(dir);
      expect(sorted(tasks.filter((t) => t.account_id === 'S3').map((t) => [t.playbook, t.status]))).toEqual([
        ['full-seats', 'exited'],
        ['low-seats', 'open'],
      ]);
      expect((await keys()).at(-1)).toMatch(new RegExp(`^${DAY}/${live.workspace.scoring.playbookVersion}/live-`));
    } finally {
      await server.close();
      live.close();
    }
  }, 60_000);
});

describe('the play state within one process', () => {
  it('a second session waits for a writer of the same process (DuckDB keeps out other processes only)', async () => {
    const { dir, live } = await liveAfterRun(baseCompany());
    live.close();
    const file = join(dir, '.nrr', 'state.duckdb');
    const writer = await PlaybookState.open(file);
    const order: string[] = [];
    const reader = PlaybookState.using(file, { readOnly: true }, async (s) => {
      order.push('reader in');
      return (await s.tasks()).length;
    });
    const second = PlaybookState.using(file, {}, async () => void order.push('second writer in'));
    await sleep(300);
    expect(order).toEqual([]);
    await writer.exec("UPDATE play_tasks SET note = 'seen' WHERE account_id = 'BIG'");
    order.push('writer out');
    writer.close();
    expect(await reader).toBe(3);
    await second;
    expect(order[0]).toBe('writer out');
    expect(order.slice(1).sort()).toEqual(['reader in', 'second writer in']);
    expect((await tasksOf(dir)).find((t) => t.account_id === 'BIG')!.note).toBe('seen');
    // A session that cannot get in within its wait says so.
    const hold = await PlaybookState.open(file, { readOnly: true });
    await expect(PlaybookState.open(file, { waitMs: 200 })).rejects.toThrow(/stayed in use in this process for 200 ms; try again when it has finished/);
    hold.close();
  }, 30_000);
});
