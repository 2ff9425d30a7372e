import { Option, type Command } from 'commander';
import { stringifyJson } from '../money.js';
import { NrrError } from '../errors.js';
import { open, withDataOptions, type CommonOptions } from './common-options.js';
import { writeOutput } from './standard-output.js';

interface DdlOptions extends CommonOptions {
  cluster?: string;
  database: string;
  format: 'sql' | 'json';
  out?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `nrr warehouse ddl`: the model's tables for a ClickHouse server or cluster, as SQL to run there. */
export function registerWarehouse(program: Command): void {
  const warehouse = program.command('warehouse').description('the model in a warehouse of yours (docs/engines.md)');
  withDataOptions(
    warehouse
      .command('ddl')
      .description('print the DDL of the model’s tables for ClickHouse, on one server or sharded over a cluster (--cluster)'),
  )
    .option('--store <url>', 'the ClickHouse that builds the model to read its tables from: clickhouse://embedded (default) or clickhouse://user:password@host:8123/database')
    .option('--cluster <name>', 'a cluster of remote_servers: tables ON CLUSTER, per-account tables sharded by cityHash64(account_id), dimensions replicated')
    .option('--database <name>', 'the database the DDL makes the tables in', 'nrr')
    .addOption(new Option('-f, --format <format>', 'a SQL script, or JSON: {database, cluster, statements}').choices(['sql', 'json']).default('sql'))
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .addHelpText(
      'after',
      `
The model is built from the data folder in the ClickHouse of --store, and its tables (names, columns
and types, as the model's builders made them) are printed as DDL for --database. With a ClickHouse
server as --store, the model stays in that URL's database, and the script ends with the INSERTs that
copy it into the new tables (run it on that server).

Examples:
  nrr warehouse ddl --data my-data --database nrr
  nrr warehouse ddl --data my-data --cluster analytics -o nrr.sql
  … --cluster analytics --store 'clickhouse://nrr:pw@ch-1:8123/nrr_build' -o nrr.sql   built on a server, with the INSERTs
  then: clickhouse-client --host ch-1 --multiquery < nrr.sql`,
    )
    .action(async (o: DdlOptions) => {
      if (!NAME.test(o.database)) throw new NrrError(`--database '${o.database}': expected letters, digits and '_'`);
      if (o.cluster !== undefined && !NAME.test(o.cluster)) throw new NrrError(`--cluster '${o.cluster}': expected letters, digits and '_'`);
      const store = typeof o.store === 'string' ? o.store : 'clickhouse://embedded';
      if (!/^clickhouse(\+https?)?:\/\//i.test(store)) throw new NrrError(`--store: expected a ClickHouse URL (clickhouse://embedded or clickhouse://user:password@host:8123/database)`);
      // Built in the URL's database for this run (not kept as a workspace store): the DDL reads its tables there.
      const ws = await open({ ...o, store }, {}, false, false);
      try {
        const [row] = await ws.query('SELECT currentDatabase() AS db');
        const built = String(row?.['db']);
        if (built === o.database) throw new NrrError(`--database ${o.database} is where --store builds the model: give the DDL another database`);
        const [{ sqlFillModelTables, sqlModelTables }, { modelTableDefinitions }] = await Promise.all([
          import('../engine/clickhouse-cluster-ddl.js'),
          import('../workspace/clickhouse-model-tables.js'),
        ]);
        const tables = await modelTableDefinitions(ws.driver);
        const target = { database: o.database, ...(o.cluster === undefined ? {} : { cluster: o.cluster }) };
        const embedded = store.toLowerCase() === 'clickhouse://embedded';
        const statements = [...sqlModelTables(tables, target), ...(embedded ? [] : sqlFillModelTables(tables, built, target))];
        if (o.format === 'json') {
          await writeOutput(o, stringifyJson({ database: o.database, cluster: o.cluster ?? null, filled_from: embedded ? null : built, statements }) + '\n');
          return;
        }
        const sharded = o.cluster === undefined ? '' : `; on cluster ${o.cluster}: per-account tables sharded by cityHash64(account_id), dimensions replicated`;
        const header =
          `-- The model's ${tables.length} tables and views in database ${o.database}${sharded}.\n` +
          (embedded ? `-- To fill them, build the model on a server (--store clickhouse://…/build_database): the script then ends with the INSERTs.\n` : `-- Filled from database ${built}, where the model was just built.\n`);
        await writeOutput(o, header + statements.map((s) => `${s};\n`).join(''));
      } finally {
        ws.close();
      }
    });
}
