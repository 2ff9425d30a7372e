import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineAvailability } from './helpers/engines.js';
import { removeDir } from './helpers/fixture-dir.js';
import { NEW_LINE, QUESTIONS, figure, nrr } from './helpers/store-cli.js';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.js';

/**
 * The workspace store kept in PostgreSQL (`nrr sync --store postgres://…`, docs/store.md): a real
 * server started for the test, the real CLI (needs `npm run build`). Answers from the store equal
 * `--no-store` to the digit, before and after a file changes; an unchanged sync reads no file; a
 * store of another layout is rebuilt or refused with a message; a sync killed half-way leaves the
 * store as it was. Outside CI a missing PostgreSQL is skipped loudly; under CI=true it fails.
 */


const why = engineAvailability('postgres');

describe.skipIf(why !== null)('the workspace store in PostgreSQL', () => {
  let server: PostgresServer;
  let client: pg.Client;
  let dir: string;
  let schemaNo = 0;
  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
  }, 120_000);
  afterAll(async () => {
    await client?.end();
    server?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  /** A fresh copy of examples/acme (without a DuckDB store) and a schema of its own. */
  function fresh(): { data: string; url: string; schema: string } {
    if (dir !== undefined) removeDir(dir);
    dir = mkdtempSync(join(tmpdir(), 'nrr-wh-store-'));
    cpSync('examples/acme', dir, { recursive: true, filter: (src) => !src.includes('.nrr') });
    schemaNo += 1;
    const schema = `store_${schemaNo}`;
    return { data: dir, url: `${server.url}?schema=${schema}`, schema };
  }

  async function meta(schema: string): Promise<Record<string, string>> {
    const r = await client.query<{ key: string; value: string }>(`SELECT key, value FROM ${schema}.nrr_store_meta`);
    return Object.fromEntries(r.rows.map((x) => [x.key, x.value]));
  }

  async function sync(data: string, url: string, ...more: string[]): Promise<{ action: string; changed: string[]; lines: number; notes: string[] }> {
    const r = await nrr(['sync', '--data', data, '--store', url, '--format', 'json', ...more]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { action: string; changed: string[]; lines: number; notes: string[] };
  }

  /** Each question from the store and with --no-store: the same bytes. */
  async function expectSameAsFiles(data: string, url: string, extra: readonly string[] = []): Promise<void> {
    for (const q of QUESTIONS) {
      const base = [...q, '--data', data, '-q'];
      const [stored, files] = await Promise.all([nrr([...base, '--store', url, ...extra]), nrr([...base, '--no-store'])]);
      expect(files.code, files.stderr).toBe(0);
      expect(stored.code, stored.stderr).toBe(0);
      expect(stored.stdout.length).toBeGreaterThan(100);
      expect(stored.stdout, q.join(' ')).toBe(files.stdout);
    }
  }

  it('answers from the store as --no-store does, before and after a row is appended to subscriptions.csv', async () => {
    const { data, url, schema } = fresh();
    const cold = await sync(data, url);
    expect(cold.action).toBe('rebuilt');
    expect(cold.lines).toBe(511);
    await expectSameAsFiles(data, url);
    // Warm: read as it is, the files unread.
    await expectSameAsFiles(data, url, ['--no-sync']);
    const before = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url]);

    appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);
    const metricsAfter = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url]);
    expect(metricsAfter.code, metricsAfter.stderr).toBe(0);
    // The new line shows: the year's expansion grows by its 1,234.56, and the rest is what the files give.
    expect(figure(before.stdout, 'expansion')).toBe('218949.987709249993');
    expect(figure(metricsAfter.stdout, 'expansion')).toBe('220184.547709249993');
    await expectSameAsFiles(data, url);
    const m = await meta(schema);
    expect(m['builds']).toBe('2');
    const lines = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.lines`);
    expect(lines.rows[0]!.n).toBe('512');
  }, 300_000);

  it('an unchanged sync reads no file: a file of the same size and time is taken as the one fingerprinted', async () => {
    const { data, url, schema } = fresh();
    const subs = join(data, 'subscriptions.csv');
    // A whole second, so that putting the same time back is exact to the nanosecond.
    utimesSync(subs, 1_700_000_000, 1_700_000_000);
    expect((await sync(data, url)).action).toBe('rebuilt');
    const built = await meta(schema);
    const files = await client.query<{ source: string; size: string; mtime_ns: string; sha256: string }>(`SELECT * FROM ${schema}.nrr_store_files ORDER BY source`);
    expect(files.rows.map((r) => r.source)).toEqual(['accounts', 'fx_rates', 'subscriptions', 'usage']);
    const fp = files.rows.find((r) => r.source === 'subscriptions')!;
    expect(Number(fp.size)).toBe(statSync(subs).size);
    expect(fp.mtime_ns).toBe('1700000000000000000');
    expect(fp.sha256).toMatch(/^[0-9a-f]{64}$/);
    const answer = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url]);

    const again = await sync(data, url);
    expect(again).toMatchObject({ action: 'read', changed: [] });
    expect(await meta(schema)).toEqual(built);

    // Other bytes, the same size and time: not read, so the store answers as before.
    const text = readFileSync(subs, 'utf8');
    const changed = text.replace('ACC-0149,L-00510,platform,2025-11-01,2026-11-01,38986.32', 'ACC-0149,L-00510,platform,2025-11-01,2026-11-01,98986.32');
    expect(changed).not.toBe(text);
    writeFileSync(subs, changed);
    utimesSync(subs, 1_700_000_000, 1_700_000_000);
    expect(await sync(data, url)).toMatchObject({ action: 'read', changed: [] });
    expect((await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url])).stdout).toBe(answer.stdout);
    expect((await meta(schema))['builds']).toBe('1');

    // Its time moves: the hash decides, the file is read, the store built again.
    utimesSync(subs, 1_700_000_100, 1_700_000_100);
    expect(await sync(data, url)).toMatchObject({ action: 'rebuilt', changed: ['subscriptions'] });
    expect((await meta(schema))['builds']).toBe('2');
    await expectSameAsFiles(data, url);

    // Touched, the same bytes: only the stamp is updated.
    utimesSync(subs, 1_700_000_200, 1_700_000_200);
    expect(await sync(data, url)).toMatchObject({ action: 'read', changed: [] });
    const stamped = await client.query<{ mtime_ns: string }>(`SELECT mtime_ns FROM ${schema}.nrr_store_files WHERE source = 'subscriptions'`);
    expect(stamped.rows[0]!.mtime_ns).toBe('1700000200000000000');
    expect((await meta(schema))['builds']).toBe('2');
  }, 300_000);

  it('a store of an older layout is built again with a message; a newer one is refused; --no-sync without a store is refused', async () => {
    const { data, url, schema } = fresh();
    const none = await nrr(['metrics', '--data', data, '-q', '--store', url, '--no-sync']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no workspace store in schema ${schema} of postgres://nrr@127.0.0.1`);
    expect(none.stderr).not.toMatch(/\n\s+at /);

    await sync(data, url);
    await client.query(`UPDATE ${schema}.nrr_store_meta SET value = '0' WHERE key = 'schema_version'`);
    const stale = await nrr(['metrics', '--data', data, '-q', '--store', url, '--no-sync']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('cannot answer as it is (it has layout 0, this nrr reads 1)');
    const old = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url]);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stderr).toContain(`warning: the workspace store in schema ${schema} of postgres://nrr@127.0.0.1`);
    expect(old.stderr).toContain('had layout 0, this nrr writes layout 1: it was built again from the files');
    expect((await meta(schema))['schema_version']).toBe('1');
    await expectSameAsFiles(data, url);

    await client.query(`UPDATE ${schema}.nrr_store_meta SET value = '99' WHERE key = 'schema_version'`);
    const newer = await nrr(['metrics', '--data', data, '-q', '--store', url]);
    expect(newer.code).toBe(1);
    expect(newer.stderr).toContain('was written by a newer nrr (layout 99; this one reads 1): upgrade nrr');
    expect(newer.stderr).not.toMatch(/\n\s+at /);
    expect((await meta(schema))['schema_version']).toBe('99');
  }, 300_000);

  it('a sync killed while it builds leaves the store as it was; the next run converges', async () => {
    const { data, url, schema } = fresh();
    await sync(data, url);
    const before = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url, '--no-sync']);
    expect(before.code, before.stderr).toBe(0);
    appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);

    let pid = 0;
    const killed = nrr(['sync', '--data', data, '--store', url], (p) => (pid = p));
    // Kill it once its build has begun (the build's schema exists), before the swap.
    let seen = false;
    for (let i = 0; i < 2000 && !seen; i++) {
      const r = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [`${schema}__building`]);
      seen = r.rows.length > 0;
      if (!seen) await new Promise((res) => setTimeout(res, 10));
    }
    expect(seen).toBe(true);
    process.kill(pid, 'SIGKILL');
    expect((await killed).code).toBe(137);

    // As it was: the same answer, the same build.
    const after = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url, '--no-sync']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe(before.stdout);
    expect((await meta(schema))['builds']).toBe('1');
    // The next run finds the file changed and converges (the killed build's schema is dropped).
    await expectSameAsFiles(data, url);
    const now = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--store', url, '--no-sync']);
    expect(figure(now.stdout, 'expansion')).toBe('220184.547709249993');
    expect((await meta(schema))['builds']).toBe('2');
    const left = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [`${schema}__building`]);
    expect(left.rows).toEqual([]);
  }, 300_000);

  it("the config's warehouse.url_env puts the store there: sync and metrics without --store", async () => {
    const { data, url, schema } = fresh();
    appendFileSync(join(data, 'nrr.config.yaml'), '\nwarehouse:\n  url_env: NRR_TEST_WAREHOUSE\n');
    const env = { NRR_TEST_WAREHOUSE: url };
    const synced = await nrr(['sync', '--data', data, '--format', 'json'], undefined, env);
    expect(synced.code, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout)).toMatchObject({ action: 'rebuilt', store: `schema ${schema} of ${server.url}` });
    const stored = await nrr(['metrics', '--data', data, '-q', '--format', 'json'], undefined, env);
    const files = await nrr(['metrics', '--data', data, '-q', '--format', 'json', '--no-store']);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stdout).toBe(files.stdout);
    expect((await meta(schema))['builds']).toBe('1');
    // Nothing was kept in DuckDB beside the files.
    expect(existsSync(join(data, '.nrr', 'workspace.duckdb'))).toBe(false);
    const unset = await nrr(['metrics', '--data', data, '-q']);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('warehouse.url_env: the environment variable NRR_TEST_WAREHOUSE is not set');
  }, 300_000);

  it('nrr sync --store on a DuckDB file says where a store can be kept', async () => {
    const { data } = fresh();
    const r = await nrr(['sync', '--data', data, '--store', 'duckdb:other.duckdb']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the workspace store is kept in DuckDB, PostgreSQL (postgres://…) or ClickHouse (clickhouse://…, clickhouse://embedded), not there');
  });

  it('two syncs at once after a change build once; a flag that changes the model builds under it, then back', async () => {
    const { data, url, schema } = fresh();
    await sync(data, url);
    appendFileSync(join(data, 'subscriptions.csv'), NEW_LINE);
    // One writer at a time: the second finds, once it holds the store, that the first brought it up to date.
    const both = await Promise.all([sync(data, url), sync(data, url)]);
    expect(both.map((r) => r.action).sort()).toEqual(['read', 'rebuilt']);
    expect((await meta(schema))['builds']).toBe('2');

    const monthly = ['metrics', '--data', data, '-q', '--format', 'json', '--fx', 'monthly'];
    const [stored, files] = await Promise.all([nrr([...monthly, '--store', url]), nrr([...monthly, '--no-store'])]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stdout).toBe(files.stdout);
    // Monthly FX moves the figures: a revaluation other than zero (so the store really was built under it).
    expect(figure(stored.stdout, 'fx')).toMatch(/^-?[0-9]/);
    expect(figure(stored.stdout, 'fx')).not.toBe('0');
    expect((await meta(schema))['builds']).toBe('3');
    await expectSameAsFiles(data, url);
    expect((await meta(schema))['builds']).toBe('4');
  }, 300_000);
});
