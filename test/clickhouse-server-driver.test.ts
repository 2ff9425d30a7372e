import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbDriver } from '../src/drivers/chdb-driver.js';
import { ClickHouseServerDriver, parseClickHouseUrl } from '../src/drivers/clickhouse-server-driver.js';
import { openWarehouse } from '../src/drivers/open-warehouse.js';
import { CLICKHOUSE_SETTINGS } from '../src/engine/clickhouse-dialect.js';
import { NrrError } from '../src/errors.js';
import { startClickHouseHttp, type ClickHouseHttpServer } from './helpers/clickhouse-http-server.js';
import { engineAvailability } from './helpers/engines.js';
import { freePort } from './helpers/free-port.js';

/**
 * The ClickHouse server driver (`@clickhouse/client` over HTTP) against the stand-in server that
 * runs each query on embedded ClickHouse (test/helpers/clickhouse-http-server.ts).
 */

describe('clickhouse:// URLs', () => {
  it('name the HTTP endpoint, the user, the database and the memory limit', () => {
    expect(parseClickHouseUrl('clickhouse://nrr:p%40ss@ch.internal:8124/analytics?max_memory_usage=2000000000')).toEqual({
      endpoint: 'http://ch.internal:8124',
      username: 'nrr',
      password: 'p@ss',
      database: 'analytics',
      maxMemoryUsage: 2_000_000_000,
    });
    const tls = parseClickHouseUrl('clickhouse+https://ch.example.com');
    expect([tls.endpoint, tls.username, tls.password, tls.database]).toEqual(['https://ch.example.com:8443', 'default', '', 'nrr']);
    expect(parseClickHouseUrl('clickhouse+http://h/db').endpoint).toBe('http://h:8123');
  });

  it.each([
    ['clickhouse://u:hunter2@h/bad-name', /database 'bad-name'/],
    ['clickhouse://u:hunter2@h/db?max_memory_usage=lots', /max_memory_usage 'lots': expected a whole number of bytes/],
    ['clickhouse://u:hunter2@h/db?secure=1', /unknown parameter 'secure'/],
  ])('%s is refused with what was expected, without the password', (url, why) => {
    let error: unknown;
    try {
      parseClickHouseUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NrrError);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toContain('u:***@h');
    expect((error as Error).message).not.toContain('hunter2');
  });
});

const why = engineAvailability('clickhouse-http');

describe.skipIf(why !== null)('the ClickHouse server driver, through the stand-in server', () => {
  let server: ClickHouseHttpServer;
  let driver: ClickHouseServerDriver;
  beforeAll(async () => {
    server = await startClickHouseHttp({ user: 'nrr', password: 'pa:ss word' });
    driver = await ClickHouseServerDriver.open({ url: `${server.url}/driver_test` });
  });
  afterAll(async () => {
    driver?.close();
    await server?.stop();
  });

  /** A query sent as a plain HTTP client would, with only the settings given. */
  async function raw(query: string, settings: Record<string, string> = {}): Promise<{ status: number; code: string | null; text: string }> {
    const params = new URLSearchParams({ database: 'driver_test', default_format: 'JSONEachRow', ...settings });
    const res = await fetch(`http://127.0.0.1:${server.port}/?${params}`, {
      method: 'POST',
      body: query,
      headers: { Authorization: `Basic ${Buffer.from('nrr:pa:ss word').toString('base64')}` },
    });
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
  }

  it('sends the model’s settings and a memory limit with every statement', async () => {
    const from = server.requests.length;
    await driver.query('SELECT 1 AS x');
    await driver.exec('CREATE OR REPLACE TABLE t_settings (x Int32) ENGINE = Memory');
    const sent = server.requests.slice(from);
    expect(sent.length).toBe(2);
    for (const params of sent) {
      for (const [k, v] of Object.entries(CLICKHOUSE_SETTINGS)) expect(params.get(k), k).toBe(String(v));
      expect(params.get('max_memory_usage')).toBe('10000000000');
      expect(params.get('database')).toBe('driver_test');
    }
    const [row] = await driver.query(`SELECT getSetting('join_use_nulls') AS j, getSetting('session_timezone') AS tz, toString(getSetting('max_memory_usage')) AS mem`);
    expect(row).toEqual({ j: true, tz: 'UTC', mem: '10000000000' });
  });

  it('the stand-in starts each request from ClickHouse’s defaults: without join_use_nulls an unmatched column is 0', async () => {
    // The embedded driver pins its settings on the shared engine; they must not leak into a request.
    const embedded = await ChdbDriver.open();
    try {
      const sql = 'SELECT b.v AS v FROM (SELECT 2 AS k) a LEFT JOIN (SELECT 1 AS k, 5 AS v) b ON a.k = b.k';
      expect((await raw(sql)).text.trim()).toBe('{"v":0}');
      expect((await raw(sql, { join_use_nulls: '1' })).text.trim()).toBe('{"v":null}');
      expect(await driver.query(sql)).toEqual([{ v: null }]);
      expect(await embedded.query(sql)).toEqual([{ v: null }]);
    } finally {
      embedded.close();
    }
  });

  it('decimals and 64-bit integers arrive as exact text, and go in exactly', async () => {
    const columns = [
      { name: 'amount', duckdbType: 'DECIMAL(38,12)' },
      { name: 'big', duckdbType: 'BIGINT' },
      { name: 'note', duckdbType: 'VARCHAR' },
      { name: 'day', duckdbType: 'DATE' },
    ];
    await driver.createTable('exact', columns);
    await driver.insertRows('exact', columns, [
      ['12345678901234567890123456.000000000001', '9007199254740993', "O'Brien \\ \"quoted\"", '1999-12-31'],
      [null, null, null, null],
    ]);
    expect(await driver.query('SELECT amount, big, note, day, amount * 2 AS twice FROM exact ORDER BY big NULLS LAST')).toEqual([
      { amount: '12345678901234567890123456.000000000001', big: '9007199254740993', note: "O'Brien \\ \"quoted\"", day: '1999-12-31', twice: '24691357802469135780246912.000000000002' },
      { amount: null, big: null, note: null, day: null, twice: null },
    ]);
  });

  it('a failing statement gives ClickHouse’s message, code and HTTP status', async () => {
    await expect(driver.query('SELECT * FROM no_such_table')).rejects.toThrow(/Unknown table expression identifier 'no_such_table'/);
    const r = await raw('SELEC 1');
    expect([r.status, r.code]).toEqual([400, '62']);
    expect(r.text).toMatch(/^Code: 62\. DB::Exception: Syntax error.*\(SYNTAX_ERROR\) \(version /s);
  });

  it('a wrong password is a user error naming the server, with the password hidden', async () => {
    const url = `clickhouse://nrr:not-the-secret@127.0.0.1:${server.port}/driver_test`;
    const error = await openWarehouse(url).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NrrError);
    expect((error as Error).message).toMatch(/^cannot connect to ClickHouse at clickhouse:\/\/nrr:\*\*\*@127\.0\.0\.1:\d+\/driver_test: .*Authentication failed/);
    expect((error as Error).message).not.toContain('not-the-secret');
  });

  it('a query past the memory limit is a user error saying how to raise it', async () => {
    const small = await ClickHouseServerDriver.open({ url: `${server.url}/driver_test?max_memory_usage=1000000` });
    try {
      const error = await small.query('SELECT length(groupArray(toString(number))) AS n FROM numbers(2000000)').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NrrError);
      expect((error as Error).message).toMatch(/ran out of the memory a query may use: .*memory limit/is);
      expect((error as Error).message).toMatch(/raise it with \?max_memory_usage=BYTES/);
      expect((error as Error).message).not.toContain('pa:ss word');
    } finally {
      small.close();
    }
  });

  it('a server that does not answer is a user error naming it', async () => {
    const port = await freePort();
    const error = await openWarehouse(`clickhouse://nrr:hunter2@127.0.0.1:${port}/db`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NrrError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot connect to ClickHouse at clickhouse://nrr:\\*\\*\\*@127\\.0\\.0\\.1:${port}/db: .*ECONNREFUSED`));
  });
});

/** `nrr` as a process (needs npm run build), asynchronously: the stand-in answers in this process. */
function nrr(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), ...args], { env: { ...process.env, NRR_TODAY: '2026-01-15', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe.skipIf(why !== null)('clickhouse+https:// (a stand-in with a self-signed certificate; needs npm run build)', () => {
  let dir: string;
  let server: ClickHouseHttpServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nrr-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    server = await startClickHouseHttp({ user: 'nrr', password: 'tls-secret', tls: { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') } });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with the certificate trusted (NODE_EXTRA_CA_CERTS): the same metrics as DuckDB', async () => {
    expect(server.url).toMatch(/^clickhouse\+https:\/\//);
    const args = ['metrics', '--data', 'examples/acme', '-q', '--format', 'json'];
    const duck = await nrr(args);
    const tls = await nrr([...args, '--store', `${server.url}/tls_test`], { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') });
    expect(tls.code, tls.stderr).toBe(0);
    expect(tls.stdout.length).toBeGreaterThan(100);
    expect(tls.stdout).toBe(duck.stdout);
  }, 120_000);

  it('with a certificate nobody vouches for: one line naming the server, no stack trace', async () => {
    const r = await nrr(['metrics', '--data', 'examples/acme', '-q', '--store', `${server.url}/tls_test`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to ClickHouse at clickhouse\+https:\/\/nrr:\*\*\*@127\.0\.0\.1:\d+\/tls_test: .*self[- ]signed certificate/);
    expect(r.stderr).not.toContain('tls-secret');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
