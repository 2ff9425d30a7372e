import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireChdbSession, releaseChdbSession } from '../src/drivers/chdb-driver.js';
import { startClickHouseHttp } from './helpers/clickhouse-http-server.js';
import { engineAvailability } from './helpers/engines.js';
import { removeDir } from './helpers/fixture-dir.js';
import { NEW_LINE, QUESTIONS, figure, nrr } from './helpers/store-cli.js';

/**
 * The workspace store kept in ClickHouse (`nrr sync --store clickhouse://embedded`, docs/store.md):
 * the real CLI (needs `npm run build`) on embedded ClickHouse (chdb), whose store lives in
 * `.nrr/clickhouse/` of the data folder. Answers from the store equal `--no-store` byte for byte,
 * before and after a file changes; an unchanged sync reads no file; a sync killed half-way leaves
 * the store as it was and the next run converges; two syncs at once build once; a store of another
 * layout is rebuilt or refused. The store on a ClickHouse server is run against the stand-in server
 * (test/helpers/clickhouse-http-server.ts). Outside CI a missing chdb is skipped loudly; under
 * CI=true it fails.
 */

const EMBEDDED = 'clickhouse://embedded';

interface ChdbSession {
  query(sql: string, format?: string): string;
  close(): void;
}

/**
 * Runs `work` on the store's engine folder, opened in this process (chdb admits one process at a
 * time: only while no nrr runs on the folder), and closes it.
 */
function onStore<T>(data: string, work: (q: (sql: string) => Record<string, string>[], current: string) => T): T {
  const { Session } = createRequire(import.meta.url)('chdb') as { Session: new (path: string) => ChdbSession };
  const session = new Session(join(data, '.nrr', 'clickhouse'));
  try {
    const q = (sql: string): Record<string, string>[] =>
      session
        .query(sql, 'JSONEachRow')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, string>);
    const [pointer] = q('SELECT database FROM nrr.nrr_store_current ORDER BY generation DESC LIMIT 1');
    return work(q, pointer!['database']!);
  } finally {
    session.close();
  }
}

function meta(data: string): Record<string, string> {
  return onStore(data, (q, db) => Object.fromEntries(q(`SELECT key, value FROM ${db}.nrr_store_meta`).map((r) => [r['key'], r['value']])));
}

/** The databases of the store's generations in the engine's folder (each has its metadata file). */
function generations(data: string): string[] {
  return readdirSync(join(data, '.nrr', 'clickhouse', 'metadata'))
    .filter((f) => /^nrr__store_\d+\.sql$/.test(f))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();
}

const why = engineAvailability('clickhouse');

describe.skipIf(why !== null)('the workspace store in ClickHouse', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) removeDir(d);
  });

  /** A fresh copy of examples/acme (without a store). */
  function fresh(): string {
    const dir = mkdtempSync(join(tmpdir(), 'nrr-ch-store-'));
    dirs.push(dir);
    cpSync('examples/acme', dir, { recursive: true, filter: (src) => !src.includes('.nrr') });
    return dir;
  }

  async function sync(data: string, url = EMBEDDED, ...more: string[]): Promise<{ action: string; changed: string[]; lines: number; notes: string[]; store: string }> {
    const r = await nrr(['sync', '--data', data, '--store', url, '--format', 'json', ...more]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { action: string; changed: string[]; lines: number; notes: string[]; store: string };
  }

  /** Each question from the store and with --no-store: the same bytes (in turn: one process at a time holds the store). */
  async function expectSameAsFiles(data: string, url = EMBEDDED, extra: readonly string[] = []): Promise<void> {
    for (const q of QUESTIONS) {
      const base = [...q, '--data', data, '-q'];
      const stored = await nrr([...base, '--store', url, ...extra]);
      const files = await nrr([...base, '--no-store']);
      expect(files.code, files.stderr).toBe(0);
      expect(stored.code, stored.stderr).toBe(0);
      expect(stored.stdout.length).toBeGreaterThan(100);
      expect(stored.stdout, q.join(' ')).toBe(files.stdout);
    }
  }

  it('answers from the store as --no-store does, before and after a row is appended to subscriptions.csv', async () => {
    const data = fresh();
    const cold = await sync(data);
    expect(cold).toMatchObject({ action: 'rebuilt', lines: 511, store: `ClickHouse embedded in ${join(data, '.nrr', 'clickhouse')}` });
    await expectSameAsFiles(data);
    // Warm: read as it is, the files unread.
    await expectSameAsFiles(data, EMBEDDED, ['--no-sync']);
    const before = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED]);

    appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);
    const after = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED]);
    expect(after.code, after.stderr).toBe(0);
    // The new line shows: the year's expansion grows by its 1,234.56, and the rest is what the files give.
    expect(figure(before.stdout, 'expansion')).toBe('218949.987709249993');
    expect(figure(after.stdout, 'expansion')).toBe('220184.547709249993');
    await expectSameAsFiles(data);
    expect(meta(data)['builds']).toBe('2');
    expect(onStore(data, (q, db) => String(q(`SELECT count() AS n FROM ${db}.lines`)[0]!['n']))).toBe('512');
    // The superseded generation is gone; no lock file is left.
    expect(generations(data)).toEqual(['nrr__store_2']);
    expect(existsSync(join(data, '.nrr', 'clickhouse.lock'))).toBe(false);
  }, 300_000);

  it('an unchanged sync reads no file: a file of the same size and time is taken as the one fingerprinted', async () => {
    const data = fresh();
    const subs = join(data, 'subscriptions.csv');
    // A whole second, so that putting the same time back is exact to the nanosecond.
    utimesSync(subs, 1_700_000_000, 1_700_000_000);
    expect((await sync(data)).action).toBe('rebuilt');
    const built = meta(data);
    const files = onStore(data, (q, db) => q(`SELECT source, size, mtime_ns, sha256 FROM ${db}.nrr_store_files ORDER BY source`));
    expect(files.map((r) => r['source'])).toEqual(['accounts', 'fx_rates', 'subscriptions', 'usage']);
    const fp = files.find((r) => r['source'] === 'subscriptions')!;
    expect(Number(fp['size'])).toBe(statSync(subs).size);
    expect(fp['mtime_ns']).toBe('1700000000000000000');
    expect(fp['sha256']).toMatch(/^[0-9a-f]{64}$/);
    const answer = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED]);

    expect(await sync(data)).toMatchObject({ action: 'read', changed: [] });
    expect(meta(data)).toEqual(built);

    // Other bytes, the same size and time: not read, so the store answers as before.
    const text = readFileSync(subs, 'utf8');
    const changed = text.replace('ACC-0149,L-00510,platform,2025-11-01,2026-11-01,38986.32', 'ACC-0149,L-00510,platform,2025-11-01,2026-11-01,98986.32');
    expect(changed).not.toBe(text);
    writeFileSync(subs, changed);
    utimesSync(subs, 1_700_000_000, 1_700_000_000);
    expect(await sync(data)).toMatchObject({ action: 'read', changed: [] });
    expect((await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED])).stdout).toBe(answer.stdout);
    expect(meta(data)['builds']).toBe('1');

    // Its time moves: the hash decides, the file is read, the store built again.
    utimesSync(subs, 1_700_000_100, 1_700_000_100);
    expect(await sync(data)).toMatchObject({ action: 'rebuilt', changed: ['subscriptions'] });
    expect(meta(data)['builds']).toBe('2');
    await expectSameAsFiles(data);

    // Touched, the same bytes: only the stamp is updated.
    utimesSync(subs, 1_700_000_200, 1_700_000_200);
    expect(await sync(data)).toMatchObject({ action: 'read', changed: [] });
    expect(onStore(data, (q, db) => q(`SELECT mtime_ns FROM ${db}.nrr_store_files WHERE source = 'subscriptions'`)[0]!['mtime_ns'])).toBe('1700000200000000000');
    expect(meta(data)['builds']).toBe('2');
  }, 300_000);

  it('a sync killed while it builds leaves the store as it was; the next run converges', async () => {
    const data = fresh();
    await sync(data);
    const before = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED, '--no-sync']);
    expect(before.code, before.stderr).toBe(0);
    appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);

    let pid = 0;
    const killed = nrr(['sync', '--data', data, '--store', EMBEDDED], (p) => (pid = p));
    // Kill it once its build has begun (the next generation's database exists), before the pointer moves.
    let seen = false;
    for (let i = 0; i < 3000 && !seen; i++) {
      seen = existsSync(join(data, '.nrr', 'clickhouse', 'metadata', 'nrr__store_2.sql'));
      if (!seen) await new Promise((res) => setTimeout(res, 10));
    }
    expect(seen).toBe(true);
    process.kill(pid, 'SIGKILL');
    expect((await killed).code).toBe(137);
    // The killed process's lock file is left behind: the next command takes it over (its process is gone).
    expect(existsSync(join(data, '.nrr', 'clickhouse.lock'))).toBe(true);

    // As it was: the same answer, the same build.
    const after = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED, '--no-sync']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe(before.stdout);
    expect(meta(data)['builds']).toBe('1');
    // The next run finds the file changed and converges (the killed build's database is dropped).
    await expectSameAsFiles(data);
    const now = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED, '--no-sync']);
    expect(figure(now.stdout, 'expansion')).toBe('220184.547709249993');
    expect(meta(data)['builds']).toBe('2');
    expect(generations(data)).toEqual(['nrr__store_3']);
  }, 300_000);

  it('two syncs at once after a change build once: the second waits for the first, then finds the store up to date', async () => {
    const data = fresh();
    await sync(data);
    appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);
    const both = await Promise.all([sync(data), sync(data)]);
    expect(both.map((r) => r.action).sort()).toEqual(['read', 'rebuilt']);
    expect(meta(data)['builds']).toBe('2');
    await expectSameAsFiles(data);
  }, 300_000);

  it('a store of an older layout is built again with a message; a newer one is refused; --no-sync without a store is refused', async () => {
    const data = fresh();
    const none = await nrr(['metrics', '--data', data, '-q', '--store', EMBEDDED, '--no-sync']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no workspace store in ClickHouse embedded in ${join(data, '.nrr', 'clickhouse')} yet`);
    expect(none.stderr).not.toMatch(/\n\s+at /);

    await sync(data);
    const setLayout = (v: string): void =>
      void onStore(data, (q, db) => q(`ALTER TABLE ${db}.nrr_store_meta UPDATE value = '${v}' WHERE key = 'schema_version' SETTINGS mutations_sync = 2`));
    setLayout('0');
    const stale = await nrr(['metrics', '--data', data, '-q', '--store', EMBEDDED, '--no-sync']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('cannot answer as it is (it has layout 0, this nrr reads 1)');
    const old = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', EMBEDDED]);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stderr).toContain('had layout 0, this nrr writes layout 1: it was built again from the files');
    expect(meta(data)['schema_version']).toBe('1');
    await expectSameAsFiles(data);

    setLayout('99');
    const newer = await nrr(['metrics', '--data', data, '-q', '--store', EMBEDDED]);
    expect(newer.code).toBe(1);
    expect(newer.stderr).toContain('was written by a newer nrr (layout 99; this one reads 1): upgrade nrr, or delete its folder');
    expect(newer.stderr).not.toMatch(/\n\s+at /);
    expect(meta(data)['schema_version']).toBe('99');
  }, 300_000);

  it('on a ClickHouse server: kept beside the URL’s database, the same answers, an unchanged sync reads no file, two syncs at once build once', async () => {
    const server = await startClickHouseHttp();
    try {
      const data = fresh();
      const url = `${server.url}/store_test`;
      expect(await sync(data, url)).toMatchObject({ action: 'rebuilt', store: expect.stringContaining('database store_test of clickhouse://nrr:***@127.0.0.1') as unknown });
      await expectSameAsFiles(data, url);
      expect(await sync(data, url)).toMatchObject({ action: 'read', changed: [] });
      appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);
      // Two at once: one holds the writer's lease and builds, the other waits, then finds the store up to date.
      const both = await Promise.all([sync(data, url), sync(data, url)]);
      expect(both.map((r) => r.action).sort()).toEqual(['read', 'rebuilt']);
      await expectSameAsFiles(data, url, ['--no-sync']);
      // Nothing was kept on disk beside the files; the writer's lease is released; one generation is kept before the store's.
      expect(existsSync(join(data, '.nrr'))).toBe(false);
      const session = acquireChdbSession();
      try {
        const names = session.query(`SELECT name FROM system.tables WHERE database = 'store_test' ORDER BY name`, 'CSV');
        expect(names).toBe('"nrr_store_current"\n');
        const dbs = session.query(`SELECT name FROM system.databases WHERE startsWith(name, 'store_test') ORDER BY name`, 'CSV');
        expect(dbs).toBe('"store_test"\n"store_test__store_1"\n"store_test__store_2"\n');
      } finally {
        releaseChdbSession();
      }
    } finally {
      await server.stop();
    }
  }, 300_000);
});
