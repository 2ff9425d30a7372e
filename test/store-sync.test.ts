import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LiveWorkspace, Workspace, metrics, movements, mrrLedger, type OpenOptions } from '../src/index.js';
import { fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';


/**
 * The store answers as a build from scratch does. Random companies go through random sequences
 * of changes in every source (new, changed, ended and withdrawn rows), some written to the files
 * and synced, some ingested; after each, every table of the model and every answer of the store
 * equals those of a workspace computed in memory from files holding the same rows (`--no-store`).
 */

const NUM_RUNS = Number(process.env['NRR_PROPERTY_RUNS'] ?? 12);
const TIMEOUT = Math.max(300_000, NUM_RUNS * 20_000);
const TODAY = new Date('2026-01-15T00:00:00Z');
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

type Row = Record<string, string>;

/** A source as the test keeps it: its header, its rows in file order, and what makes a row's key. */
interface Table {
  readonly file: string;
  readonly header: readonly string[];
  readonly key: readonly string[];
  rows: Row[];
}

interface Company {
  subscriptions: Table;
  usage: Table;
  accounts: Table;
  tickets: Table;
  fx: Table;
}

const day = (offset: number): string => new Date(Date.UTC(2023, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);
const month = (i: number): string => `${2023 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
const keyOf = (t: Table, r: Row): string => t.key.map((k) => r[k] ?? '').join('|');

function fresh(): Company {
  return {
    subscriptions: { file: 'subscriptions.csv', header: ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval', 'currency'], key: ['line_id'], rows: [] },
    usage: { file: 'usage.csv', header: ['account_id', 'product', 'month', 'amount', 'currency'], key: ['account_id', 'product', 'month'], rows: [] },
    accounts: { file: 'accounts.csv', header: ['account_id', 'segment'], key: ['account_id'], rows: [] },
    tickets: { file: 'tickets.csv', header: ['ticket_id', 'account_id', 'opened_date', 'closed_date', 'priority', 'escalated'], key: ['ticket_id'], rows: [] },
    fx: { file: 'fx_rates.csv', header: ['currency', 'month', 'rate'], key: ['currency', 'month'], rows: [] },
  };
}

const accountArb = fc.integer({ min: 0, max: 5 }).map((i) => `A${i}`);
const amountArb = fc.oneof(fc.integer({ min: 0, max: 5000 }).map(String), fc.integer({ min: 1, max: 500_000 }).map((c) => (c / 100).toFixed(2)));
const lineArb = (id: string): fc.Arbitrary<Row> =>
  fc
    .record({
      account: accountArb,
      product: fc.constantFrom('core', 'addon'),
      start: fc.integer({ min: 0, max: 1000 }),
      length: fc.option(fc.integer({ min: 1, max: 700 }), { freq: 2 }),
      amount: amountArb,
      interval: fc.constantFrom('monthly', 'annual', 'quarter'),
      currency: fc.constantFrom('USD', 'USD', 'EUR'),
    })
    .map((l) => ({
      account_id: l.account,
      line_id: id,
      product: l.product,
      start_date: day(l.start),
      end_date: l.length === null ? '' : day(l.start + l.length),
      amount: l.amount,
      interval: l.interval,
      currency: l.currency,
    }));
const usageArb = fc
  .record({ account: accountArb, product: fc.constantFrom('api', 'core'), m: fc.integer({ min: 0, max: 35 }), amount: amountArb })
  .map((u): Row => ({ account_id: u.account, product: u.product, month: month(u.m), amount: u.amount, currency: 'USD' }));
const ticketArb = (id: string): fc.Arbitrary<Row> =>
  fc
    .record({ account: accountArb, opened: fc.integer({ min: 0, max: 1050 }), days: fc.option(fc.integer({ min: 0, max: 60 })), priority: fc.constantFrom('low', 'high', 'urgent') })
    .map((t) => ({ ticket_id: id, account_id: t.account, opened_date: day(t.opened), closed_date: t.days === null ? '' : day(t.opened + t.days), priority: t.priority, escalated: t.priority === 'urgent' ? 'true' : 'false' }));

/** A change to the company, applied through the files (then synced) or ingested. */
type Change =
  | { kind: 'put'; source: keyof Company; row: Row }
  | { kind: 'withdraw'; source: keyof Company; index: number }
  | { kind: 'end'; index: number; length: number };

const changeArb: fc.Arbitrary<{ change: Change; via: 'file' | 'ingest' }> = fc.record({
  via: fc.constantFrom<('file' | 'ingest')[]>('file', 'ingest'),
  change: fc.oneof(
    fc.integer({ min: 0, max: 30 }).chain((n) => lineArb(`L${n}`)).map((row): Change => ({ kind: 'put', source: 'subscriptions', row })),
    usageArb.map((row): Change => ({ kind: 'put', source: 'usage', row })),
    fc.record({ a: accountArb, s: fc.constantFrom('smb', 'mid', 'ent') }).map(({ a, s }): Change => ({ kind: 'put', source: 'accounts', row: { account_id: a, segment: s } })),
    fc.integer({ min: 0, max: 20 }).chain((n) => ticketArb(`T${n}`)).map((row): Change => ({ kind: 'put', source: 'tickets', row })),
    fc.record({ source: fc.constantFrom<(keyof Company)[]>('subscriptions', 'usage', 'tickets'), index: fc.nat() }).map(({ source, index }): Change => ({ kind: 'withdraw', source, index })),
    fc.record({ index: fc.nat(), length: fc.integer({ min: 1, max: 400 }) }).map(({ index, length }): Change => ({ kind: 'end', index, length })),
  ),
});

const companyArb = fc
  .record({
    lines: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 }).chain((ids) => fc.tuple(...ids.map((i) => lineArb(`L${i}`)))),
    usage: fc.uniqueArray(usageArb, { maxLength: 6, selector: (u) => `${u['account_id']}|${u['product']}|${u['month']}` }),
    tickets: fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 6 }).chain((ids) => fc.tuple(...ids.map((i) => ticketArb(`T${i}`)))),
    rates: fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 8000, max: 14000 })), { maxLength: 5 }),
  })
  .map((r): Company => {
    const c = fresh();
    c.subscriptions.rows = r.lines;
    c.usage.rows = r.usage;
    c.tickets.rows = r.tickets;
    c.accounts.rows = ['A0', 'A1', 'A2', 'A3', 'A4', 'A5'].map((a, i) => ({ account_id: a, segment: ['smb', 'mid', 'ent'][i % 3]! }));
    const rates = new Map<number, string>([[0, '1.1000'], ...r.rates.map(([m, v]): [number, string] => [m, (v / 10000).toFixed(4)])]);
    c.fx.rows = [...rates].sort((a, b) => a[0] - b[0]).map(([m, v]) => ({ currency: 'EUR', month: month(m), rate: v }));
    return c;
  });

function content(t: Table): FileContent {
  return [t.header as string[], ...t.rows.map((r) => t.header.map((h) => r[h] ?? ''))];
}

function writeCompany(c: Company, dir?: string): string {
  const files = Object.fromEntries(Object.values(c).map((t: Table) => [t.file, content(t)]));
  if (dir === undefined) {
    const made = fixtureDir(files, 'nrr-store-');
    dirs.push(made);
    return made;
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), toCsv(text));
  return dir;
}

const toCsv = (rows: FileContent): string => (typeof rows === 'string' ? rows : rows.map((r) => r.join(',')).join('\n') + '\n');

const clone = (c: Company): Company => JSON.parse(JSON.stringify(c)) as Company;

/** Applies a change to the rows the test keeps; returns the batch that ingests it. */
function applyChange(c: Company, change: Change): { source: string; rows?: Row[]; withdraw?: Row[] } | null {
  if (change.kind === 'put') {
    const t = c[change.source];
    const i = t.rows.findIndex((r) => keyOf(t, r) === keyOf(t, change.row));
    if (i >= 0) t.rows[i] = change.row;
    else t.rows.push(change.row);
    return { source: change.source, rows: [change.row] };
  }
  if (change.kind === 'withdraw') {
    const t = c[change.source];
    if (t.rows.length === 0) return null;
    const [gone] = t.rows.splice(change.index % t.rows.length, 1);
    return { source: change.source, withdraw: [Object.fromEntries(t.key.map((k) => [k, gone![k]!]))] };
  }
  const t = c.subscriptions;
  if (t.rows.length === 0) return null;
  const row = { ...t.rows[change.index % t.rows.length]! };
  row['end_date'] = new Date(Date.parse(row['start_date']!) + change.length * 86_400_000).toISOString().slice(0, 10);
  t.rows[change.index % t.rows.length] = row;
  return { source: 'subscriptions', rows: [row] };
}

const ROW_NUMBERED = new Set(['lines', 'usage_charges', 'usage_set_aside', 'signal_tickets']);

/**
 * Every table of the model, and answers, as comparable values. Once rows were ingested, row
 * numbers are left out (an ingested row has none in a file) and rows are compared as sets.
 */
async function snapshot(ws: Workspace, withRowNumbers: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  await ws.ensureProductRanges();
  for (const t of ['lines', 'usage_charges', 'accounts', 'usage_set_aside', 'product_ranges', 'account_changes', 'account_first_revenue', 'signal_tickets']) {
    const rows = await ws.query(`SELECT * ${ROW_NUMBERED.has(t) && !withRowNumbers ? 'EXCLUDE (row_no)' : ''} FROM ${t}`);
    out[t] = rows.map((r) => JSON.stringify(r)).sort();
  }
  const withoutRows = (list: unknown[]): unknown => (withRowNumbers ? list : JSON.parse(JSON.stringify(list, (k, v: unknown) => (k === 'row_no' || k === 'rows' ? undefined : v))));
  out['movements'] = withoutRows(await movements(ws, {}));
  out['ledger'] = withoutRows(await mrrLedger(ws, {}));
  out['metrics'] = JSON.parse(JSON.stringify(await metrics(ws, { window: 12, by: 'segment' })));
  // What is printed before every report: kept by the store from batch to batch without reading every row.
  const { accounts, lines, firstDate, lastDate, currencies, products, firstMonth, asOf, latestDate, usageSetAside } = ws.summary;
  out['summary'] = JSON.parse(
    JSON.stringify({ accounts, lines, firstDate, lastDate, currencies, products, firstMonth, asOf, latestDate, usageSetAside: { ...usageSetAside, amount: usageSetAside.amount.toString() } }),
  );
  return out;
}

const base: Omit<OpenOptions, 'data'> = { today: TODAY, policies: { as_of: '2025-12' }, signals: true };

async function fromScratch(c: Company, withRowNumbers: boolean): Promise<Record<string, unknown>> {
  const dir = writeCompany(c);
  const ws = await Workspace.open({ ...base, data: dir, store: false });
  try {
    return await snapshot(ws, withRowNumbers);
  } finally {
    ws.close();
  }
}

/** The rows the store holds: the files' rows, except where a key was ingested (the ingested row, or none when withdrawn). */
function derive(onDisk: Company, overlay: ReadonlyMap<string, Row | null>): Company {
  const c = clone(onDisk);
  for (const name of Object.keys(c) as (keyof Company)[]) {
    const t = c[name];
    t.rows = t.rows.filter((r) => !overlay.has(`${name}|${keyOf(t, r)}`));
    for (const [k, row] of overlay) if (k.startsWith(`${name}|`) && row !== null) t.rows.push(row);
  }
  return c;
}

describe('the workspace store', () => {
  it(
    'answers, after any sequence of synced and ingested changes, as a build from the same rows does',
    async () => {
      await fc.assert(
        fc.asyncProperty(companyArb, fc.array(changeArb, { minLength: 1, maxLength: 5 }), async (start, steps) => {
          const onDisk = clone(start);
          const overlay = new Map<string, Row | null>();
          const dir = writeCompany(onDisk);
          writeFileSync(join(dir, 'nrr.config.yaml'), "policies:\n  as_of: '2025-12'\n");
          for (const { change, via } of steps) {
            if (via === 'file') {
              if (applyChange(onDisk, change) === null) continue;
              writeCompany(onDisk, dir);
              const ws = await Workspace.open({ ...base, data: dir });
              try {
                expect(ws.summary.store).not.toBeNull();
                expect(await snapshot(ws, overlay.size === 0)).toEqual(await fromScratch(derive(onDisk, overlay), overlay.size === 0));
              } finally {
                ws.close();
              }
            } else {
              const truth = derive(onDisk, overlay);
              const batch = applyChange(truth, change);
              if (batch === null) continue;
              const t = truth[batch.source as keyof Company];
              for (const r of batch.rows ?? []) overlay.set(`${batch.source}|${keyOf(t, r)}`, r);
              for (const r of batch.withdraw ?? []) overlay.set(`${batch.source}|${keyOf(t, r)}`, null);
              const live = await LiveWorkspace.open({ ...base, data: dir });
              try {
                await live.apply(batch);
                expect(await snapshot(live.workspace, false)).toEqual(await fromScratch(derive(onDisk, overlay), false));
              } finally {
                live.close();
              }
            }
          }
        }),
        { numRuns: NUM_RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('nrr sync interfaces', () => {
  it('appending a row to subscriptions.csv: movements from the store equal those from the files alone', async () => {
    const c = fresh();
    c.accounts.rows = [{ account_id: 'A1', segment: 'smb' }];
    c.subscriptions.rows = [{ account_id: 'A1', line_id: 'L1', product: 'core', start_date: '2024-01-01', end_date: '', amount: '100', interval: 'monthly', currency: 'USD' }];
    c.fx.rows = [{ currency: 'EUR', month: '2023-01', rate: '1.1' }];
    const dir = writeCompany(c);
    const first = await Workspace.open({ ...base, data: dir });
    expect(first.summary.store?.action).toBe('rebuilt');
    first.close();
    expect(existsSync(join(dir, '.nrr', 'workspace.duckdb'))).toBe(true);
    appendFileSync(join(dir, 'subscriptions.csv'), 'A2,L2,core,2024-06-01,,250.50,monthly,USD\n');
    const ws = await Workspace.open({ ...base, data: dir });
    const stored = await movements(ws, {});
    expect(ws.summary.store).toMatchObject({ action: 'updated', changed: ['subscriptions'], accounts: 1 });
    ws.close();
    const scratch = await Workspace.open({ ...base, data: dir, store: false });
    expect(stored).toEqual(await movements(scratch, {}));
    expect(stored.some((m) => m.account_id === 'A2' && m.category === 'new' && m.delta.toString() === '250.5')).toBe(true);
    scratch.close();
    const again = await Workspace.open({ ...base, data: dir });
    expect(again.summary.store?.action).toBe('read');
    again.close();
  });
});

describe('nrr ingest', () => {
  const BIN = join(process.cwd(), 'dist', 'cli', 'nrr.js');
  const run = (args: string[], input?: string) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, env: { ...process.env, NRR_TODAY: '2026-01-15' } });

  it('applies a batch from standard input to the store, once per batch id; --no-store still reads the files alone', () => {
    const c = fresh();
    c.accounts.rows = [{ account_id: 'A1', segment: 'smb' }];
    c.subscriptions.rows = [{ account_id: 'A1', line_id: 'L1', product: 'core', start_date: '2024-01-01', end_date: '', amount: '100', interval: 'monthly', currency: 'USD' }];
    const dir = writeCompany(c);
    writeFileSync(join(dir, 'nrr.config.yaml'), "policies:\n  as_of: '2025-12'\n");
    const batch = JSON.stringify({ rows: [{ account_id: 'A1', line_id: 'L2', product: 'core', start_date: '2025-03-01', amount: 50.125, interval: 'monthly', currency: 'USD' }] });
    const first = run(['ingest', 'subscriptions', '--data', dir, '--batch-id', 'b-1'], batch);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/batch b-1: 1 row ingested into subscriptions \(0 replacing rows with the same key\), 0 rows withdrawn; 1 account changed/);
    expect(run(['ingest', 'subscriptions', '--data', dir, '--batch-id', 'b-1'], batch).stdout).toMatch(/batch b-1 was applied before: nothing changed/);
    const stored = run(['movements', '--data', dir, '--format', 'csv', '-q']).stdout;
    expect(stored).toMatch(/A1,2025-03,expansion,contract,100,150\.125,50\.125/);
    expect(run(['movements', '--data', dir, '--format', 'csv', '-q', '--no-store']).stdout).not.toMatch(/2025-03/);
    const bad = run(['ingest', 'subscriptions', '--data', dir], JSON.stringify([{ account_id: 'A1', line_id: 'L3', start_date: '2025-03-01', amount: '1e3', interval: 'monthly' }]));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/the batch \S+ has 1 invalid value; nothing of it was applied:\n.*row 1, column amount: '1e3'/);
    expect(bad.stderr).toMatch(/Fix the rows and send the batch again/);
  }, 120_000);
});

/** Batches that break a rule of the contract, in the columns good batches of their source give. */
const badBatchArb = fc.constantFrom<{ source: string; rows: Row[] }[]>(
  { source: 'subscriptions', rows: [{ account_id: 'A1', line_id: 'L90', product: 'core', start_date: '2025-02-30', end_date: '', amount: '10', interval: 'monthly', currency: 'USD' }] },
  { source: 'subscriptions', rows: [{ account_id: 'A2', line_id: 'L91', product: 'core', start_date: '2025-01-01', end_date: '', amount: '12.5x', interval: 'monthly', currency: 'USD' }] },
  { source: 'usage', rows: [{ account_id: 'A1', product: 'api', month: '2025-13', amount: '1', currency: 'USD' }] },
  { source: 'tickets', rows: [{ ticket_id: 'T90', account_id: 'A1', opened_date: 'yesterday', closed_date: '', priority: 'high', escalated: 'false' }] },
);

const EXAMPLE: Company = (() => {
  const c = fresh();
  c.subscriptions.rows = [{ account_id: 'A1', line_id: 'L1', product: 'core', start_date: '2024-01-10', end_date: '', amount: '1200', interval: 'annual', currency: 'EUR' }];
  c.accounts.rows = ['A0', 'A1', 'A2', 'A3', 'A4', 'A5'].map((a, i) => ({ account_id: a, segment: ['smb', 'mid', 'ent'][i % 3]! }));
  c.fx.rows = [{ currency: 'EUR', month: '2023-01', rate: '1.1000' }];
  return c;
})();

const line = (id: string, account: string, start: string, end: string, amount: string): Row => ({ account_id: account, line_id: id, product: 'core', start_date: start, end_date: end, amount, interval: 'monthly', currency: 'USD' });
const ticket = (id: string, account: string, opened: string): Row => ({ ticket_id: id, account_id: account, opened_date: opened, closed_date: '', priority: 'high', escalated: 'false' });
const EXAMPLE_STEPS: (Change | { source: string; rows: Row[] })[] = [
  { kind: 'put', source: 'subscriptions', row: line('L2', 'A2', '2024-03-01', '', '100.50') },
  { kind: 'put', source: 'subscriptions', row: line('L3', 'A3', '2024-05-01', '2025-02-14', '80') },
  { source: 'subscriptions', rows: [line('L4', 'A4', '2024-02-30', '', '10')] },
  { kind: 'end', index: 0, length: 200 },
  { kind: 'put', source: 'tickets', row: ticket('T1', 'A1', '2025-06-01') },
  { kind: 'put', source: 'tickets', row: ticket('T2', 'A2', '2025-06-02') },
  { source: 'tickets', rows: [ticket('T3', 'A3', 'yesterday')] },
  // A key twice in one batch: another path through the checks than the one prepared (noted anew), then the first again.
  { source: 'tickets', rows: [ticket('T4', 'A4', '2025-06-03'), ticket('T4', 'A5', '2025-06-04')] },
  { kind: 'put', source: 'tickets', row: ticket('T5', 'A5', '2025-06-05') },
  { kind: 'put', source: 'usage', row: { account_id: 'A2', product: 'api', month: '2025-03', amount: '12.34', currency: 'USD' } },
  { kind: 'put', source: 'usage', row: { account_id: 'A3', product: 'api', month: '2025-04', amount: '5', currency: 'USD' } },
];

describe('a live workspace applying batch after batch', () => {
  it(
    "checks each kind of batch by statements prepared once, with the outcome of the statements as written, and answers as a build from the same rows",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          companyArb,
          fc.array(fc.oneof({ weight: 5, arbitrary: changeArb.map((c) => c.change) }, { weight: 1, arbitrary: badBatchArb }), { minLength: 2, maxLength: 7 }),
          async (start, steps) => {
            const truth = clone(start);
            const dirs = [writeCompany(start), writeCompany(start)];
            for (const dir of dirs) writeFileSync(join(dir, 'nrr.config.yaml'), "policies:\n  as_of: '2025-12'\n");
            const prepared = await LiveWorkspace.open({ ...base, data: dirs[0]! });
            const written = await LiveWorkspace.open({ ...base, data: dirs[1]! }, { prepareChecks: false });
            const outcome = async (live: LiveWorkspace, batch: Parameters<LiveWorkspace['apply']>[0]): Promise<unknown> => {
              try {
                return { applied: await live.apply(batch) };
              } catch (e) {
                return { refused: e instanceof Error ? e.message : String(e) };
              }
            };
            try {
              for (const [i, step] of steps.entries()) {
                const bad = 'rows' in step;
                const next = clone(truth);
                const batch = bad ? step : applyChange(next, step);
                if (batch === null) continue;
                const sent = { ...batch, batchId: `b${i}` };
                const got = await outcome(prepared, sent);
                expect(got).toEqual(await outcome(written, sent));
                if (bad) {
                  // Refused whole, naming the batch and the row's problem, as the statements as written do.
                  expect(got).toEqual({ refused: expect.stringContaining(`batch b${i} (${step.source}) row`) });
                } else {
                  expect(got).toHaveProperty('applied');
                  Object.assign(truth, next);
                }
                expect(await snapshot(prepared.workspace, false)).toEqual(await snapshot(written.workspace, false));
              }
              expect(await snapshot(prepared.workspace, false)).toEqual(await fromScratch(truth, false));
            } finally {
              prepared.close();
              written.close();
            }
          },
        ),
        // Every kind of batch again, good after good and bad after good (the prepared statements' path), then random ones.
        { numRuns: Math.max(4, Math.ceil(NUM_RUNS / 3)), examples: [[EXAMPLE, EXAMPLE_STEPS]] },
      );
    },
    TIMEOUT * 2,
  );
});
