import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouseHttp, type ClickHouseHttpServer } from './helpers/clickhouse-http-server.js';
import { engineAvailability, enginesUnderTest } from './helpers/engines.js';
import { removeDir } from './helpers/fixture-dir.js';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.js';

/**
 * `--store URL` on the commands that compute in a warehouse: the same output as DuckDB, byte for
 * byte, on the engines of NRR_ENGINES (other than DuckDB itself). Needs `npm run build` (dist/).
 */

const BIN = join(process.cwd(), 'dist/cli/nrr.js');
/** examples/acme pins as_of 2025-12; a fixed day keeps every run alike. */
const ENV = { ...process.env, NRR_TODAY: '2026-01-15' };

function nrr(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const warehouses = enginesUnderTest().filter((e) => e !== 'duckdb');

describe.each(warehouses)('nrr --store on %s', (name) => {
  const why = engineAvailability(name);
  let server: PostgresServer | null = null;
  let clickhouse: ClickHouseHttpServer | null = null;
  let url = 'clickhouse://embedded';
  // A copy of examples/acme: the store is kept in the warehouse, or embedded in the data folder's .nrr/.
  let data = '';
  beforeAll(async () => {
    if (why !== null) return;
    data = mkdtempSync(join(tmpdir(), 'nrr-engines-cli-'));
    cpSync('examples/acme', data, { recursive: true, filter: (src) => !src.includes('.nrr') });
    if (name === 'postgres') {
      server = await startPostgres();
      url = `${server.url}?schema=cli_test`;
    }
    if (name === 'clickhouse-http') {
      clickhouse = await startClickHouseHttp({ user: 'nrr', password: 'cli-secret' });
      url = `${clickhouse.url}/cli_test`;
    }
  }, 120_000);
  afterAll(async () => {
    server?.stop();
    await clickhouse?.stop();
    if (data !== '') removeDir(data);
  });

  describe.skipIf(why !== null)(`on ${name}`, () => {
    it.each([
      ['metrics', '--format', 'json'],
      ['metrics', '--by', 'segment', '--window', '3', '--format', 'json'],
      ['metrics', '--from', '2025-01', '--method', 'movements', '--format', 'csv'],
      ['movements', '--format', 'csv'],
      ['mrr', '--by-product', '--format', 'csv'],
      ['mrr', '--total', '--format', 'csv'],
      ['mrr', '--total', '--from', '2024-03', '--to', '2024-08', '--where', 'segment=smb', '--format', 'csv'],
    ])('nrr %s … gives what DuckDB gives', async (...args) => {
      const base = [...args, '--data', data, '-q'];
      const duck = await nrr(base);
      const wh = await nrr([...base, '--store', url]);
      expect(duck.code, duck.stderr).toBe(0);
      expect(wh.code, wh.stderr).toBe(0);
      expect(wh.stdout.length).toBeGreaterThan(100);
      expect(wh.stdout).toBe(duck.stdout);
    }, 120_000);

    it.runIf(name === 'clickhouse-http')('a wrong password is one line naming the server, the password hidden, no stack trace', async () => {
      const wrong = url.replace('cli-secret', 'wrong-secret');
      const r = await nrr(['metrics', '--data', data, '-q', '--store', wrong]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot connect to ClickHouse at clickhouse:\/\/nrr:\*\*\*@127\.0\.0\.1:\d+\/cli_test: .*Authentication failed/);
      expect(r.stderr).not.toContain('wrong-secret');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });
});

describe('nrr --store with an unknown scheme', () => {
  it('is a user error listing the warehouses', async () => {
    const r = await nrr(['metrics', '--data', 'examples/acme', '-q', '--store', 'mysql://x/y']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/postgres:\/\//);
    expect(r.stderr).toMatch(/clickhouse:\/\/embedded/);
    expect(r.stderr).toMatch(/clickhouse\+https:\/\//);
  });
});
