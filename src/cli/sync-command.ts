import { Option, type Command } from 'commander';
import { relative } from 'node:path';
import { stringifyJson } from '../money.js';
import { open, withDataOptions, type CommonOptions } from './common-options.js';
import { plural } from './plural-text.js';
import { noStoreIn } from './warehouse-store-option.js';
import { NrrError } from '../errors.js';

/** `nrr sync`: brings the workspace store up to date with the files. */
export function registerSync(program: Command): void {
  withDataOptions(
    program
      .command('sync')
      .description('bring the workspace store (.nrr/workspace.duckdb, or PostgreSQL or ClickHouse with --store) up to date with the files: only what changed is read and computed again'),
    { policies: false },
  )
    .option('--rebuild', 'build the store again from every file, whatever changed')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Every command syncs first on its own (cheap when nothing changed) unless --no-sync; sync does it
alone, e.g. after an export lands, so that the next question is answered at once. A file whose
size and modification time are unchanged is not read; where they differ, its content hash
decides. A changed file is checked with the same rules as always; the accounts whose rows changed
are computed again, and everything is written in one transaction (docs/store.md).

Exit status 0 when the store is up to date, 2 when a file breaks a rule (the store is left as it
was), 1 when a file cannot be read.

Examples:
  nrr sync --data my-data
  nrr sync --data my-data --rebuild
  nrr sync --data my-data --format json`,
    )
    .action(async (o: CommonOptions & { format: 'text' | 'json'; rebuild?: boolean }) => {
      const started = Date.now();
      if (typeof o.store === 'string') {
        const why = noStoreIn(o.store, o);
        if (why !== null) throw new NrrError(why);
      }
      const ws = await open({ ...o, quiet: true, store: typeof o.store === 'string' ? o.store : true }, { signals: true, store: { rebuild: o.rebuild === true } }, true);
      try {
        const use = ws.summary.store;
        const seconds = (Date.now() - started) / 1000;
        if (o.format === 'json') {
          process.stdout.write(
            stringifyJson({
              store: use?.path ?? null,
              action: use?.action ?? 'not-stored',
              changed: use?.changed ?? [],
              accounts_recomputed: use?.accounts ?? null,
              accounts: ws.summary.accounts,
              lines: ws.summary.lines,
              seconds,
              notes: ws.summary.notes,
            }) + '\n',
          );
          return;
        }
        if (use === null) {
          process.stdout.write(`the store was not written: ${ws.summary.notes.join('; ')}\n`);
          return;
        }
        const where = o.store === undefined || o.store === true ? relative(process.cwd(), use.path) || use.path : use.path;
        const what =
          use.action === 'read'
            ? 'up to date: no file changed'
            : use.action === 'rebuilt'
              ? typeof o.store === 'string' && use.changed.length < ws.summary.sources.length
                ? `built again from ${plural(ws.summary.sources.length, 'file')} (${use.changed.join(', ')} changed)`
                : `built from ${plural(use.changed.length, 'file')}`
              : `updated: ${use.changed.join(', ')} changed, ${plural(use.accounts ?? 0, 'account')} computed again`;
        process.stdout.write(`${where}: ${what} (${plural(ws.summary.accounts, 'account')}, ${plural(ws.summary.lines, 'line')}) in ${seconds.toFixed(1)} s\n`);
      } finally {
        ws.close();
      }
    });
}
