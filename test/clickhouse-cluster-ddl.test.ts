import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseServerDriver } from '../src/drivers/clickhouse-server-driver.js';
import { ChdbDriver } from '../src/drivers/chdb-driver.js';
import { isShardedByAccount, sqlFillModelTables, sqlModelTables, type ModelTableDefinition } from '../src/engine/clickhouse-cluster-ddl.js';
import { metrics } from '../src/index.js';
import { modelTableDefinitions } from '../src/workspace/clickhouse-model-tables.js';
import { openInWarehouse } from '../src/workspace/warehouse-model.js';
import type { Workspace } from '../src/workspace/workspace.js';
import { startClickHouseHttp } from './helpers/clickhouse-http-server.js';
import { engineAvailability } from './helpers/engines.js';

/**
 * The DDL of the model's tables for a ClickHouse server or cluster, made from the tables the
 * builders create: on one server it runs on embedded ClickHouse and holds the model exactly; on a
 * cluster (which cannot run here) every per-account table is sharded by its account and every
 * dimension replicated.
 */

const why = engineAvailability('clickhouse');

describe.skipIf(why !== null)('ClickHouse DDL of the model', () => {
  let ws: Workspace;
  let tables: ModelTableDefinition[];
  const target = `nrr_ddl_${process.pid}`;
  beforeAll(async () => {
    // Monthly FX and snapshots at the start: the policies under which the model makes the most tables.
    ws = await openInWarehouse(
      { data: 'test/fixtures/golden', policies: { as_of: '2024-12', fx: 'monthly', snapshot: 'start' }, today: new Date('2025-06-15T00:00:00Z') },
      await ChdbDriver.open(),
    );
    tables = await modelTableDefinitions(ws.driver);
  }, 120_000);
  afterAll(() => ws?.close());

  it('reads back every table and view the builders made, with its columns', () => {
    const names = tables.map((t) => t.name).sort();
    for (const name of ['accounts', 'lines', 'usage_charges', 'fx_rates', 'fx_periods', 'usage_set_aside', 'product_ranges', 'account_changes', 'account_first_revenue']) {
      expect(names).toContain(name);
    }
    expect(tables.filter((t) => t.viewQuery !== undefined).map((t) => t.name).sort()).toEqual(['account_ranges', 'mrr_contributions']);
    const changes = tables.find((t) => t.name === 'account_changes')!;
    expect(changes.columns.map((c) => c.name)).toEqual(expect.arrayContaining(['account_id', 'month_index', 'mrr_before', 'mrr_after', 'movement', 'category']));
    expect(changes.columns.find((c) => c.name === 'movement')!.type).toBe('Nullable(Decimal(38, 12))');
  });

  it('on one server: the DDL runs, holds every row of the model exactly, and gives the same metrics', async () => {
    const d = ws.driver;
    for (const sql of sqlModelTables(tables, { database: target })) await d.exec(sql);
    const [built] = await d.query('SELECT currentDatabase() AS db');
    for (const sql of sqlFillModelTables(tables, String(built!['db']), { database: target })) await d.exec(sql);
    const copy = await ChdbDriver.open({ database: target });
    try {
      // The same tables, columns and types as the builders made.
      const again = await modelTableDefinitions(copy);
      const shape = (ts: ModelTableDefinition[]): unknown => ts.map((t) => [t.name, t.columns, t.viewQuery === undefined]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      expect(shape(again)).toEqual(shape(tables));
      expect(copy.dialect.name).toBe('clickhouse');
      // Every row, both ways; the views answer alike.
      for (const t of tables) {
        const [n] = await d.query(`SELECT count() AS n FROM ${t.name}`);
        const [missing] = await d.query(`SELECT count() AS n FROM (SELECT * FROM ${t.name} EXCEPT ALL SELECT * FROM ${target}.${t.name})`);
        const [extra] = await d.query(`SELECT count() AS n FROM (SELECT * FROM ${target}.${t.name} EXCEPT ALL SELECT * FROM ${t.name})`);
        expect([t.name, Number(missing!['n']), Number(extra!['n'])]).toEqual([t.name, 0, 0]);
        if (['lines', 'account_changes', 'accounts'].includes(t.name)) expect(Number(n!['n'])).toBeGreaterThan(5);
      }
      const wsCopy = ws.through(copy);
      expect((await metrics(wsCopy, { month: '2024-12', window: 11 })).map((m) => [m.starting_mrr.value, m.ending_mrr.value, m.nrr])).toEqual(
        (await metrics(ws, { month: '2024-12', window: 11 })).map((m) => [m.starting_mrr.value, m.ending_mrr.value, m.nrr]),
      );
    } finally {
      await d.exec(`DROP DATABASE IF EXISTS ${target}`);
      copy.close();
    }
  });

  it('on a cluster: per-account tables sharded by their account over replicated local tables, dimensions replicated, every statement ON CLUSTER and valid ClickHouse', async () => {
    const ddl = sqlModelTables(tables, { database: 'nrr', cluster: 'analytics' });
    // ClickHouse's own parser accepts every statement (a cluster cannot run here).
    for (const sql of ddl) await ws.driver.query(`EXPLAIN AST ${sql}`);
    expect(ddl.every((s) => s.includes(' ON CLUSTER "analytics"'))).toBe(true);
    for (const t of tables.filter((x) => x.viewQuery === undefined)) {
      const columns = t.columns.map((c) => `"${c.name}" ${c.type}`).join(', ');
      if (isShardedByAccount(t)) {
        expect(ddl).toContain(
          `CREATE TABLE IF NOT EXISTS "nrr"."${t.name}_local" ON CLUSTER "analytics" (${columns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/nrr/${t.name}_local', '{replica}') ORDER BY ${ddl.find((s) => s.includes(`"${t.name}_local" ON`))!.split(' ORDER BY ')[1]}`,
        );
        expect(ddl).toContain(
          `CREATE TABLE IF NOT EXISTS "nrr"."${t.name}" ON CLUSTER "analytics" AS "nrr"."${t.name}_local" ENGINE = Distributed('analytics', 'nrr', '${t.name}_local', cityHash64(assumeNotNull("account_id")))`,
        );
      } else {
        const create = ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS "nrr"."${t.name}" `))!;
        expect(create).toContain(`(${columns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/nrr/${t.name}', '{replica}')`);
      }
    }
    const sharded = tables.filter((t) => t.viewQuery === undefined && isShardedByAccount(t)).map((t) => t.name).sort();
    expect(sharded).toEqual(['account_changes', 'account_first_revenue', 'lines', 'product_ranges', 'usage_charges', 'usage_set_aside']);
    const local = ddl.find((s) => s.includes('"account_changes_local" ON'))!;
    expect(local).toMatch(/ORDER BY \("account_id", "month_index"\) SETTINGS allow_nullable_key = 1$/);
    // The views read the Distributed tables of the target database.
    const view = ddl.find((s) => s.startsWith('CREATE VIEW IF NOT EXISTS "nrr"."account_ranges"'))!;
    expect(view).toMatch(/ FROM "nrr"\.account_changes WHERE /);
    expect(view).not.toMatch(/nrr_/);
  });
});

describe.skipIf(why !== null)('nrr warehouse ddl (needs npm run build)', () => {
  const nrr = (args: readonly string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), ...args], { encoding: 'utf8', env: { ...process.env, NRR_TODAY: '2026-01-15' } });

  it('with a server as --store: the script makes the tables and fills them from the model built there', async () => {
    const server = await startClickHouseHttp({ user: 'nrr', password: 'ddl-secret' });
    const driver = await ClickHouseServerDriver.open({ url: `${server.url}/nrr_build` });
    try {
      // spawnSync would block the stand-in in this process: the CLI runs asynchronously.
      const run = (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), ...args], { env: { ...process.env, NRR_TODAY: '2026-01-15' } });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
          child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
          child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
      const r = await run(['warehouse', 'ddl', '--data', 'examples/acme', '-q', '--store', `${server.url}/nrr_build`, '--database', 'nrr_copy']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('-- Filled from database nrr_build');
      const statements = r.stdout.split(';\n').map((x) => x.replace(/^(--[^\n]*\n)+/, '').trim()).filter((x) => x !== '');
      expect(statements.filter((x) => x.startsWith('INSERT INTO "nrr_copy"')).length).toBeGreaterThanOrEqual(8);
      for (const sql of statements) await driver.exec(sql);
      for (const table of ['lines', 'accounts', 'account_changes', 'account_ranges']) {
        const [a] = await driver.query(`SELECT count() AS n FROM nrr_build.${table}`);
        const [diff] = await driver.query(`SELECT count() AS n FROM (SELECT * FROM nrr_build.${table} EXCEPT ALL SELECT * FROM nrr_copy.${table})`);
        expect([table, Number(a!['n']) > 100, Number(diff!['n'])]).toEqual([table, true, 0]);
      }
    } finally {
      driver.close();
      await server.stop();
    }
  }, 120_000);

  it('refuses a --store that is not ClickHouse and a bad --cluster name, in one line', () => {
    const pg = nrr(['warehouse', 'ddl', '--data', 'examples/acme', '-q', '--store', 'postgres://x@h/db']);
    expect(pg.status).toBe(1);
    expect(pg.stderr).toMatch(/--store: expected a ClickHouse URL/);
    const bad = nrr(['warehouse', 'ddl', '--data', 'examples/acme', '-q', '--cluster', 'my cluster']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--cluster 'my cluster': expected letters, digits and '_'/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
