import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineAvailability, enginesUnderTest } from './helpers/engines.js';
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
  let url = 'clickhouse://embedded';
  beforeAll(async () => {
    if (why !== null || name !== 'postgres') return;
    server = await startPostgres();
    url = `${server.url}?schema=cli_test`;
  }, 120_000);
  afterAll(() => server?.stop());

  describe.skipIf(why !== null)(`on ${name}`, () => {
    it.each([
      ['metrics', '--format', 'json'],
      ['metrics', '--by', 'segment', '--window', '3', '--format', 'json'],
      ['metrics', '--from', '2025-01', '--method', 'movements', '--format', 'csv'],
      ['movements', '--format', 'csv'],
      ['mrr', '--by-product', '--format', 'csv'],
    ])('nrr %s … gives what DuckDB gives', async (...args) => {
      const base = [...args, '--data', 'examples/acme', '-q'];
      const duck = await nrr(base);
      const wh = await nrr([...base, '--store', url]);
      expect(duck.code, duck.stderr).toBe(0);
      expect(wh.code, wh.stderr).toBe(0);
      expect(wh.stdout.length).toBeGreaterThan(100);
      expect(wh.stdout).toBe(duck.stdout);
    }, 120_000);

    it('a ClickHouse server URL is refused, naming what is supported', async () => {
      const r = await nrr(['metrics', '--data', 'examples/acme', '-q', '--store', 'clickhouse://db.example:9000']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/only clickhouse:\/\/embedded/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  });
});

describe('nrr --store with an unknown scheme', () => {
  it('is a user error listing the warehouses', async () => {
    const r = await nrr(['metrics', '--data', 'examples/acme', '-q', '--store', 'mysql://x/y']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/postgres:\/\//);
    expect(r.stderr).toMatch(/clickhouse:\/\/embedded/);
  });
});
