import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { NrrError, Workspace } from '../src/index.js';
import { chatMessage, escapeSlackText } from '../src/playbooks/deliver-actions.js';
import { PlaybookState } from '../src/playbooks/playbook-state.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { createApp } from '../src/serve/api-app.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';
import { withState } from './helpers/play-state.js';

/**
 * Fault injection for plays: receivers that hang, reset or fail, runs killed with SIGKILL, readers
 * while a run writes, torn outbox records, a state file that is not ours, hostile chat text.
 */
const BIN = fileURLToPath(new URL('../dist/cli/nrr.js', import.meta.url));
const SECRET = 'fault-secret';
const ENV = { NRR_FAULT_SECRET: SECRET };
const dirs: string[] = [];
const servers: Server[] = [];
afterAll(() => {
  dirs.forEach(removeDir);
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

type Mode = 'ok' | 'hang' | 'reset' | '500';

/** A local receiver: `mode()` decides each answer; `answered` holds the event ids it took (2xx). */
async function receiver(mode: () => Mode, answerAfterMs = 0): Promise<{ url: string; got: string[]; answered: string[] }> {
  const got: string[] = [];
  const answered: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-nrr-event-id']);
      got.push(id);
      const m = mode();
      if (m === 'hang') return;
      if (m === 'reset') return void req.socket.destroy();
      if (m === '500') return void res.writeHead(500).end();
      setTimeout(() => {
        answered.push(id);
        res.writeHead(200).end();
      }, answerAfterMs);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, answered };
}

/** `n` accounts A001… whose seats are full on 2024-06-30, so each enters the play. */
function company(n: number, config: string, names: (i: number) => string = (i) => `Account ${i}`): string {
  const ids = Array.from({ length: n }, (_, i) => `A${String(i + 1).padStart(3, '0')}`);
  const dir = fixtureDir({
    'subscriptions.csv': [['account_id', 'start_date', 'end_date', 'amount', 'interval'], ...ids.map((id) => [id, '2024-01-01', '', 100, 'month'])],
    'accounts.csv': [['account_id', 'name', 'csm_owner', 'am_owner'], ...ids.map((id, i) => [id, names(i + 1), 'Dev', 'Abe'])],
    'seats.csv': [['account_id', 'month', 'seats_purchased', 'seats_active'], ...ids.map((id) => [id, '2024-06', 10, 9])],
    'nrr.config.yaml': config,
  });
  dirs.push(dir);
  return dir;
}

const config = (destinations: Record<string, string>, settings = ''): string => `version: 1
playbook_settings:
  daily_budget_per_owner: 1000
${settings}  destinations:
${Object.entries(destinations)
  .map(([k, v]) => `    ${k}: ${v}`)
  .join('\n')}
playbooks:
  - name: full-seats
    when: seat_utilisation > 0.8
    task: { type: expansion, priority: high, due_days: 14, owner: csm }
    notify: [${Object.keys(destinations).join(', ')}]
`;
const webhook = (url: string, extra = ''): string => `{ type: webhook, url: "${url}", secret_env: NRR_FAULT_SECRET${extra} }`;
const open = (dir: string): Promise<Workspace> => Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06' } });

/** Runs `f` on the play state of a data folder (default state_file). */
const inState = <T>(dir: string, f: (s: PlaybookState) => Promise<T>): Promise<T> => PlaybookState.using(join(dir, '.nrr/state.duckdb'), {}, f);

async function run(dir: string) {
  const ws = await open(dir);
  try {
    return await runPlaybooks(ws, { asOf: '2024-06-30', env: ENV });
  } finally {
    ws.close();
  }
}

describe('a failing receiver delays only its own deliveries', () => {
  it.each<[Mode, string]>([
    ['hang', 'never answers'],
    ['reset', 'resets the connection'],
    ['500', 'answers 500'],
  ])('a receiver that %s: one request, the rest deferred; a healthy receiver gets all; the next run delivers each exactly once', async (mode) => {
    let broken = true;
    const bad = await receiver(() => (broken ? mode : 'ok'));
    const good = await receiver(() => 'ok');
    const dir = company(
      50,
      config({ bad: webhook(bad.url, ', timeout_ms: 2000, retries: 0'), good: webhook(good.url, ', timeout_ms: 5000, retries: 0') }),
    );
    const ws = await open(dir);
    const started = Date.now();
    const first = await runPlaybooks(ws, { asOf: '2024-06-30', env: ENV }).finally(() => ws.close());
    // Bounded: one timeout for the broken receiver, not one per delivery (50 × 2 s); the bound is
    // half of that, loose enough for a slow machine.
    expect(Date.now() - started).toBeLessThan((50 * 2000) / 2);
    expect(bad.got.length).toBe(1);
    expect(first.deliveries).toMatchObject({ sent: 50, failed: 1, deferred: 49 });
    expect(first.deliveries!.errors.at(-1)).toMatch(/^bad: 49 deliveries deferred to the next run: bad failed earlier in this run$/);
    expect(new Set(good.answered).size).toBe(50);
    expect(good.answered.length).toBe(50);

    broken = false;
    const second = await run(dir);
    expect(second.already_recorded).toBe(true);
    expect(second.deliveries).toMatchObject({ sent: 50, failed: 0, deferred: 0 });
    // Each of the 50 events taken once by the recovered receiver; nothing sent twice to the good one.
    expect(bad.answered.length).toBe(50);
    expect(new Set(bad.answered).size).toBe(50);
    expect(good.answered.length).toBe(50);
    const third = await run(dir);
    expect(third.deliveries).toMatchObject({ sent: 0, failed: 0, deferred: 0 });
    await inState(dir, async (s) => {
      const d = await s.deliveries();
      expect(d.length).toBe(100);
      expect(d.every((x) => x.status === 'sent')).toBe(true);
    });
  });

  it("the run's delivery time limit ends a run that would wait out a long timeout", async () => {
    const dead = await receiver(() => 'hang');
    const dir = company(10, config({ dead: webhook(dead.url, ', timeout_ms: 60000, retries: 3') }, '  delivery_time_limit_ms: 300\n'));
    const started = Date.now();
    const r = await run(dir);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(dead.got.length).toBe(1);
    expect(r.deliveries).toMatchObject({ sent: 0, failed: 1, deferred: 9 });
    expect(r.deliveries!.errors[0]).toMatch(/\(after 1 attempt; the run's delivery time ran out\)$/);
  });
});

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('kill -9 at random points of runs', () => {
  it('converges: every task and event once, every delivery made, each outbox holding each event once', async () => {
    expect(existsSync(BIN), 'build first: npm run build').toBe(true);
    const hook = await receiver(() => 'ok', 20);
    const dir = company(
      30,
      config({ crm: webhook(hook.url, ', retries: 0'), jsonl: '{ type: outbox, file: out/events.jsonl }', sheet: '{ type: outbox, file: out/events.csv }' }),
    );
    const args = ['playbooks', 'run', '--data', dir, '--as-of', '2024-06-30', '-q'];
    const env = { ...process.env, ...ENV };
    const delays: number[] = [];
    let kills = 0;
    for (let i = 0; i < 6; i++) {
      const delay = Math.round(300 + Math.random() * 2500);
      delays.push(delay);
      const c = spawn(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
      const timer = setTimeout(() => c.kill('SIGKILL'), delay);
      const signal = await new Promise<NodeJS.Signals | null>((r) => c.on('exit', (_code, s) => r(s)));
      clearTimeout(timer);
      if (signal === 'SIGKILL') kills++;
    }
    const last = await runCli(args, env);
    expect(last.status, `${last.stderr} (kill delays ${delays.join(', ')} ms)`).toBe(0);

    const ws = await open(dir);
    try {
      await withState(ws, async (s) => {
        const tasks = await s.tasks();
        expect(tasks.length).toBe(30);
        expect(new Set(tasks.map((t) => t.account_id)).size).toBe(30);
        const enters = (await s.events()).filter((e) => e.kind === 'enter');
        expect(enters.length).toBe(30);
        const d = await s.deliveries();
        expect(d.length).toBe(90);
        expect(d.filter((x) => x.status !== 'sent')).toEqual([]);
        const ids = new Set(enters.map((e) => e.event_id));
        const jsonl = readFileSync(join(dir, 'out/events.jsonl'), 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { event_id: string }).event_id);
        expect(jsonl.length).toBe(30);
        expect(new Set(jsonl)).toEqual(ids);
        const sheet = (parseCsv(readFileSync(join(dir, 'out/events.csv')), { columns: true }) as Record<string, string>[]).map((r) => r['event_id']);
        expect(sheet.length).toBe(30);
        expect(new Set(sheet)).toEqual(ids);
        expect(new Set(hook.answered)).toEqual(ids);
      });
    } finally {
      ws.close();
    }
    // At least once to a webhook: only requests cut off by a kill may come again, at most the last
    // two of the destination per kill (a result is recorded while the next request is under way).
    expect(hook.answered.length, `kill delays ${delays.join(', ')} ms`).toBeLessThanOrEqual(30 + 2 * kills);
  }, 180_000);
});

describe('two runs and many readers at once', () => {
  it('6 simultaneous `nrr tasks` and /api/tasks all succeed while two runs record and deliver; each event is sent once', async () => {
    expect(existsSync(BIN), 'build first: npm run build').toBe(true);
    let firstRequest: () => void = () => undefined;
    const started = new Promise<void>((r) => (firstRequest = r));
    const slow = await receiver(() => (firstRequest(), 'ok'), 100);
    const dir = company(40, config({ crm: webhook(slow.url, ', retries: 0') }));
    const args = ['playbooks', 'run', '--data', dir, '--as-of', '2024-06-30'];
    const runs = [runCli(args, { ...process.env, ...ENV }), runCli(args, { ...process.env, ...ENV })];
    await started;
    const ws = await open(dir);
    try {
      const app = createApp(ws);
      const [api, ...readers] = await Promise.all([
        app.request('/api/tasks?status=all'),
        ...Array.from({ length: 6 }, () => runCli(['tasks', '--data', dir, '--status', 'all', '--format', 'json'])),
      ]);
      for (const r of readers) {
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect((JSON.parse(r.stdout) as unknown[]).length).toBe(40);
      }
      expect(api!.status).toBe(200);
      expect(((await api!.json()) as { total: number }).total).toBe(40);
    } finally {
      ws.close();
    }
    // The readers did not stop the runs; one recorded the day, the other found it recorded; the
    // deliveries were claimed by one run at a time, so each event reached the receiver once.
    const done = await Promise.all(runs);
    for (const d of done) expect(d.status, d.stderr).toBe(0);
    expect(done.filter((d) => d.stdout.includes('already recorded')).length).toBe(1);
    const sent = done.map((d) => Number(/Deliveries: (\d+) sent, 0 failed/.exec(d.stdout)?.[1]));
    expect(sent[0]! + sent[1]!).toBe(40);
    expect(slow.answered.length).toBe(40);
    expect(new Set(slow.answered).size).toBe(40);
  }, 120_000);
});

describe('a full disk', () => {
  const limited = process.platform === 'linux' && existsSync('/bin/bash');
  it.skipIf(!limited)('an append cut short by the file size limit is taken back, the file left whole, and the event written by the next run', async () => {
    expect(existsSync(BIN), 'build first: npm run build').toBe(true);
    const dir = company(3, config({ jsonl: '{ type: outbox, file: out/events.jsonl }' }));
    const file = join(dir, 'out/events.jsonl');
    mkdirSync(join(dir, 'out'));
    // 4 MiB less 200 bytes of earlier events: the next record crosses the limit set below.
    const LIMIT = 4096 * 1024;
    const line = (i: number, pad: number): string => `{"event_id":"earlier-${i}","pad":"${'x'.repeat(pad)}"}\n`;
    const lines: string[] = [];
    let size = 0;
    while (size < LIMIT - 200 - 100_100) {
      lines.push(line(lines.length, 100_000));
      size += Buffer.byteLength(lines.at(-1)!);
    }
    lines.push(line(lines.length, LIMIT - 200 - size - Buffer.byteLength(line(lines.length, 0))));
    const before = lines.join('');
    expect(Buffer.byteLength(before)).toBe(LIMIT - 200);
    writeFileSync(file, before);
    // bash counts `ulimit -f` in KiB: no process of this run may write past 4 MiB in any file.
    const script = `ulimit -f 4096 && exec "${process.execPath}" "${BIN}" playbooks run --data "${dir}" --as-of 2024-06-30 -q`;
    const full = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const c = spawn('/bin/bash', ['-c', script]);
      let stderr = '';
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('exit', (status) => resolve({ status, stderr }));
    });
    expect(full.status).toBe(1);
    expect(full.stderr).toMatch(/events\.jsonl: only 200 of \d+ bytes could be written \(is the disk full\?\); the record was taken back/);
    expect(full.stderr).toContain('jsonl: 2 deliveries deferred to the next run: jsonl failed earlier in this run');
    expect(readFileSync(file, 'utf8')).toBe(before);

    const again = await runCli(['playbooks', 'run', '--data', dir, '--as-of', '2024-06-30', '-q']);
    expect(again.status, again.stderr).toBe(0);
    const added = readFileSync(file, 'utf8').slice(before.length).trimEnd().split('\n');
    const ids = await inState(dir, async (s) => (await s.events()).filter((e) => e.kind === 'enter').map((e) => e.event_id));
    expect(added.map((l) => (JSON.parse(l) as { event_id: string }).event_id).sort()).toEqual(ids.sort());
  }, 120_000);
});

describe('outbox records are whole', () => {
  it('a torn last CSV record (an unclosed quote) is cut off on the next run and its event written again once', async () => {
    // A comma in the names: the CSV quotes them.
    const dir = company(3, config({ sheet: '{ type: outbox, file: out/events.csv }', jsonl: '{ type: outbox, file: out/events.jsonl }' }), (i) => `Account ${i}, Inc.`);
    expect((await run(dir)).deliveries).toMatchObject({ sent: 6, failed: 0 });
    const file = join(dir, 'out/events.csv');
    const whole = readFileSync(file);
    const records = parseCsv(whole) as string[][];
    const lastId = records.at(-1)![0]!;
    // The disk filled up in the middle of the last record's quoted name: "Quote Not Closed".
    const cut = whole.lastIndexOf('"Account') + 5;
    writeFileSync(file, whole.subarray(0, cut));
    expect(() => parseCsv(readFileSync(file))).toThrow(/Quote Not Closed/);
    await inState(dir, (s) =>
      s.exec(`UPDATE play_deliveries SET status = 'failed', last_error = 'ENOSPC' WHERE destination = 'sheet' AND event_id = '${lastId}'`),
    );
    const again = await run(dir);
    expect(again.deliveries).toMatchObject({ sent: 1, failed: 0, deferred: 0 });
    const after = readFileSync(file);
    // Every whole record kept byte for byte; the torn one replaced by the same event, once.
    const keep = whole.subarray(0, whole.lastIndexOf('\n', whole.length - 2) + 1);
    expect(after.subarray(0, keep.length).equals(keep)).toBe(true);
    const ids = (parseCsv(after, { columns: true }) as Record<string, string>[]).map((r) => r['event_id']);
    expect(ids.length).toBe(3);
    expect(new Set(ids).size).toBe(3);
    expect(after.equals(whole)).toBe(true);
  });

  it('damage before the last record is reported and the file left as it is', async () => {
    const dir = company(3, config({ sheet: '{ type: outbox, file: out/events.csv }' }));
    await run(dir);
    const file = join(dir, 'out/events.csv');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = lines[1] + ',extra';
    const damaged = lines.join('\n');
    writeFileSync(file, damaged);
    await inState(dir, (s) => s.exec("UPDATE play_deliveries SET status = 'pending'"));
    const r = await run(dir);
    expect(r.deliveries).toMatchObject({ sent: 0, failed: 1, deferred: 2 });
    expect(r.deliveries!.errors[0]).toMatch(/out\/events\.csv: record 1 has 14 fields, the header 13: only a torn last record is repaired, so the file is left as it is/);
    expect(readFileSync(file, 'utf8')).toBe(damaged);
  });

  it('a CSV file without an event_id column is refused, not taken as holding every event', async () => {
    const dir = company(3, config({ sheet: '{ type: outbox, file: out/events.csv }' }));
    mkdirSync(join(dir, 'out'), { recursive: true });
    const file = join(dir, 'out/events.csv');
    const foreign = 'account,note\nA1,kept\n';
    writeFileSync(file, foreign);
    const r = await run(dir);
    expect(r.deliveries).toMatchObject({ sent: 0, failed: 1, deferred: 2 });
    expect(r.deliveries!.errors[0]).toMatch(/out\/events\.csv: its header has no event_id column \(found account, note\)/);
    expect(readFileSync(file, 'utf8')).toBe(foreign);
  });
});

describe('the play state is its own database', () => {
  const stateConfig = (file: string): string => `version: 1\nplaybook_settings:\n  state_file: ${file}\n`;
  const cases: [string, (path: string) => void, RegExp][] = [
    ['a CSV file', (p) => writeFileSync(p, 'account_id,amount\nA,1\n'), /is not a play state database \(it is not a DuckDB file\); nothing was changed/],
    ['an empty file', (p) => writeFileSync(p, ''), /is not a play state database \(it is empty\)/],
    ['a folder', (p) => mkdirSync(p), /is not a regular file \(a folder\)/],
  ];
  it.each(cases)('%s is refused, left byte-identical, and never replaced by a state in memory', async (_what, make, message) => {
    const dir = company(2, stateConfig('my-data.bin'));
    const path = join(dir, 'my-data.bin');
    make(path);
    const before = readIfFile(path);
    const e = await run(dir).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toContain(path);
    expect((e as Error).message).toMatch(message);
    expect(readIfFile(path)).toEqual(before);
    const cli = await runCli(['tasks', '--data', dir]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(message);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
  });

  it('/dev/null is refused', async () => {
    if (!existsSync('/dev/null')) return;
    const dir = company(2, stateConfig('/dev/null'));
    await expect(run(dir)).rejects.toThrow(/the playbook state \/dev\/null is not a regular file \(a device, pipe or socket\)/);
  });

  it("a DuckDB database of the user's is refused and keeps its tables", async () => {
    const dir = company(2, stateConfig('warehouse.duckdb'));
    const path = join(dir, 'warehouse.duckdb');
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run("CREATE TABLE revenue AS SELECT 'A' AS account_id, 1.5 AS amount");
    c.closeSync();
    db.closeSync();
    await expect(run(dir)).rejects.toThrow(/is a DuckDB database but not nrr's play state \(it holds revenue; no nrr_state_meta marker\); nothing was changed/);
    const again = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const c2 = await again.connect();
    const tables = (await c2.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")).getRows().map((r) => String(r[0]));
    c2.closeSync();
    again.closeSync();
    expect(tables).toEqual(['revenue']);
  });

  it('a state written before the marker existed is read, then upgraded by the next run', async () => {
    const dir = company(2, config({ jsonl: '{ type: outbox, file: out/e.jsonl }' }));
    const path = join(dir, '.nrr/state.duckdb');
    mkdirSync(join(dir, '.nrr'));
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    // The tables as the first version made them, with one open task.
    for (const sql of [
      'CREATE TABLE play_runs (run_key VARCHAR PRIMARY KEY, as_of DATE NOT NULL, config_version VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL, entered INTEGER NOT NULL, exited INTEGER NOT NULL, held INTEGER NOT NULL)',
      'CREATE TABLE play_members (playbook VARCHAR NOT NULL, account_id VARCHAR NOT NULL, entered_on DATE NOT NULL, task_id INTEGER, PRIMARY KEY (playbook, account_id))',
      'CREATE TABLE play_tasks (task_id INTEGER PRIMARY KEY, playbook VARCHAR NOT NULL, account_id VARCHAR NOT NULL, account_name VARCHAR, type VARCHAR NOT NULL, priority VARCHAR NOT NULL, owner VARCHAR NOT NULL, opened_on DATE NOT NULL, due_date DATE NOT NULL, status VARCHAR NOT NULL, closed_on DATE, outcome VARCHAR, note VARCHAR, config_version VARCHAR NOT NULL, reasons VARCHAR NOT NULL, run_key VARCHAR NOT NULL)',
      'CREATE TABLE play_events (event_id VARCHAR PRIMARY KEY, run_key VARCHAR NOT NULL, kind VARCHAR NOT NULL, playbook VARCHAR NOT NULL, account_id VARCHAR NOT NULL, task_id INTEGER, on_date DATE NOT NULL, config_version VARCHAR NOT NULL, reasons VARCHAR NOT NULL, payload VARCHAR)',
      'CREATE TABLE play_deliveries (event_id VARCHAR NOT NULL, destination VARCHAR NOT NULL, status VARCHAR NOT NULL, attempts INTEGER NOT NULL, last_error VARCHAR, delivered_at TIMESTAMP, PRIMARY KEY (event_id, destination))',
      "INSERT INTO play_tasks VALUES (1, 'old-play', 'A001', 'Account 1', 'save', 'high', 'Dev', DATE '2024-05-31', DATE '2024-06-14', 'open', NULL, NULL, NULL, 'v0', '{}', 'old')",
    ])
      await c.run(sql);
    c.closeSync();
    db.closeSync();
    expect((await PlaybookState.using(path, { readOnly: true }, (s) => s.tasks())).map((t) => t.playbook)).toEqual(['old-play']);
    const r = await run(dir);
    expect(r.plays[0]!.entered).toBe(2);
    expect(r.deliveries).toMatchObject({ sent: 2, failed: 0 });
    expect((await PlaybookState.using(path, { readOnly: true }, (s) => s.tasks())).length).toBe(3);
    expect(await PlaybookState.using(path, { readOnly: true }, (s) => s.query('SELECT key, value FROM nrr_state_meta ORDER BY key'))).toEqual([
      { key: 'format', value: 'nrr-playbook-state' },
      { key: 'version', value: '3' },
    ]);
  });
});

function readIfFile(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

describe('chat text is escaped for Slack mrkdwn', () => {
  const HOSTILE = ['<!channel>', '<!here|here>', '<http://evil.example|Your bank>', '<@U024BE7LH>', 'AT&T <b>', '&lt;already&gt;'];

  it('a mention, a disguised link or an entity in any value is shown as text, never as markup', () => {
    for (const bad of HOSTILE) {
      const m = chatMessage({
        event_id: 'e1',
        kind: 'enter',
        playbook: `play ${bad}`,
        as_of: '2024-06-30',
        config_version: 'v1',
        account: { account_id: `id ${bad}`, name: `name ${bad}` },
        task: { task_id: 1, type: `type ${bad}`, priority: 'high', owner: `owner ${bad}`, due_date: '2024-07-14' },
        reasons: { trigger: `seats > 0.8 ${bad}`, top_reasons: [`reason ${bad}`] },
      });
      const block = (m.blocks[0] as { text: { text: string } }).text.text;
      for (const text of [m.text, block]) {
        expect(text).not.toMatch(/[<>]/);
        expect(text).toContain(`name ${escapeSlackText(bad)}`);
      }
      expect(block).toContain(`• reason ${escapeSlackText(bad)}`);
      const exit = chatMessage({ event_id: 'e2', kind: 'exit', playbook: 'p', as_of: '2024-06-30', config_version: 'v1', account: { account_id: 'A', name: bad }, reasons: { exit: bad } });
      expect(exit.text).toBe(`*p*: ${escapeSlackText(bad)} (A) left the play (${escapeSlackText(bad)})`);
    }
    expect(escapeSlackText('<!channel> & <http://evil|x>')).toBe('&lt;!channel&gt; &amp; &lt;http://evil|x&gt;');
  });

  it('escaping keeps no < or > and Slack reads every value back exactly', () => {
    const unescape = (s: string): string => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('<', '>', '&', 'a', ';', 'l', 't', 'g', 'm', 'p', '!', '|', ' ') }), (s) => {
        const e = escapeSlackText(s);
        expect(e).not.toMatch(/[<>]/);
        expect(unescape(e)).toBe(s);
      }),
    );
  });

  it('an account named <!channel> reaches a chat receiver inert', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => (bodies.push(body), res.writeHead(200).end('ok')));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const dir = company(1, config({ slack: `{ type: chat, url: "${url}" }` }), () => '<!channel> <http://evil.example|Refund here>');
    expect((await run(dir)).deliveries).toMatchObject({ sent: 1 });
    const m = JSON.parse(bodies[0]!) as { text: string; blocks: { text: { text: string } }[] };
    expect(m.text).toBe('*full-seats*: &lt;!channel&gt; &lt;http://evil.example|Refund here&gt; (A001) → expansion task for Dev, high, due 2024-07-14');
    expect(m.blocks[0]!.text.text).not.toMatch(/[<>]/);
  });
});
