import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountProbabilities, type AccountProbabilities } from '../src/forecast/account-probabilities.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { Workspace } from '../src/workspace/workspace.js';

// A small generated company with a store: the 90-day probabilities of a month-end are kept next to
// the store, read back by the next run while the store is unchanged, and fitted again after a sync.
const TODAY = new Date('2026-07-15T00:00:00Z');
const DAY = '2026-02-28';
let dir = '';

async function probabilities(options: { store?: false } = {}): Promise<AccountProbabilities> {
  const ws = await Workspace.open({ data: dir, signals: true, today: TODAY, policies: { as_of: '2026-02' }, ...options });
  try {
    return await accountProbabilities(ws, DAY);
  } finally {
    ws.close();
  }
}

const values = (p: AccountProbabilities): [string, number | null, number | null][] =>
  [...p.accounts].map(([id, v]) => [id, v.churn_probability_90d, v.expansion_probability_90d]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-prob-cache-'));
  await generateCompany({ out: dir, accounts: 300, months: 30, seed: 5, end: '2026-06', today: TODAY });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('per-account probabilities kept next to the store', () => {
  it('are the numbers of a refit, read back while the store is unchanged, and fitted again after a sync', async () => {
    const first = await probabilities();
    const file = join(dir, '.nrr', 'probabilities-2026-02.json');
    expect(existsSync(file)).toBe(true);
    expect(first.not_fitted).toBeNull();
    expect(first.accounts.size).toBeGreaterThan(100);

    // Read back: the same numbers to the last bit as a fit from the files alone.
    const again = await probabilities();
    const refit = await probabilities({ store: false });
    expect(values(again)).toEqual(values(refit));
    expect(values(first)).toEqual(values(refit));
    for (const [[, c], [, r]] of values(again).map((v, i) => [v, values(refit)[i]!] as const)) expect(Object.is(c, r)).toBe(true);

    // What is read is the kept file, not a new fit: a value written into it comes back.
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { accounts: [string, number, number][] };
    const [id] = kept.accounts[0]!;
    kept.accounts[0] = [id, 0.123, 0.456];
    writeFileSync(file, JSON.stringify(kept));
    expect((await probabilities()).accounts.get(id)).toEqual({ churn_probability_90d: 0.123, expansion_probability_90d: 0.456 });

    // A changed file: the sync writes a new store state, and the probabilities are fitted again.
    const header = readFileSync(join(dir, 'tickets.csv'), 'utf8').split('\n')[0]!.split(',');
    const row = header.map((c) => ({ ticket_id: 'T-cache-1', account_id: id, opened_date: '2026-01-10', priority: 'high', escalated: 'true' })[c] ?? '');
    appendFileSync(join(dir, 'tickets.csv'), `${row.join(',')}\n`);
    const after = await probabilities();
    expect(after.accounts.get(id)!.churn_probability_90d).not.toBe(0.123);
    expect(values(after)).toEqual(values(await probabilities({ store: false })));
  }, 240_000);
});
