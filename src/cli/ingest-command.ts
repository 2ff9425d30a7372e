import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { NrrError } from '../errors.js';
import { stringifyJson } from '../money.js';
import { INGEST_SOURCES } from '../store/ingest-keys.js';
import { openOptions, withDataOptions, type CommonOptions } from './common-options.js';
import { plural } from './plural-text.js';

/** `nrr ingest SOURCE [FILE]`: applies one batch of rows (and withdrawals) to the workspace store. */
export function registerIngest(program: Command): void {
  withDataOptions(
    program
      .command('ingest')
      .description('apply a batch of rows of one source (new rows, corrections, withdrawals) to the workspace store, checked by the data contract')
      .argument('<source>', `the source: ${INGEST_SOURCES.join(', ')}`)
      .argument('[file]', 'a JSON file: a list of rows, or {"rows": [...], "withdraw": [...]}; default standard input'),
    { policies: false },
  )
    .option('--batch-id <id>', 'names the batch: applied again with the same id, it changes nothing')
    .option('--withdraw <key>', 'withdraw the row with this key, as column=value[,column=value] (repeatable); no rows are read then unless FILE is given', (v: string, all: string[] = []) => [...all, v])
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
The rows are checked by the rules of the data contract (the same as a file's); the accounts they
touch are computed again, all in one transaction, or nothing is applied. A row with the key of a
row already there replaces it (subscriptions: line_id; usage: account, product, month; accounts:
account_id; signal files: their key). Ingested rows stay in the store on top of the files
(docs/store.md). While nrr serve runs on the folder, send the batch to its POST /api/ingest/<source>.

Examples:
  nrr ingest subscriptions --data demo --withdraw line_id=L-RETIRED-7
  nrr ingest usage --data demo --withdraw account_id=A0000042,product=api,month=2026-01
  cat corrections.json | nrr ingest subscriptions --data my-data --batch-id crm-4711
  echo '[{"ticket_id":"T-9","account_id":"A0000042","opened_date":"2026-12-01","priority":"high","escalated":"false"}]' | nrr ingest tickets --data demo`,
    )
    .action(async (source: string, file: string | undefined, o: CommonOptions & { batchId?: string; withdraw?: string[]; format: 'text' | 'json' }) => {
      const keys = (o.withdraw ?? []).map(withdrawKey);
      const text = keys.length > 0 && file === undefined ? '[]' : readFileSync(file ?? 0, 'utf8');
      const [{ parse: parseLossless }, { LiveWorkspace }] = await Promise.all([import('lossless-json'), import('../store/live-workspace.js')]);
      let body: unknown;
      try {
        body = parseLossless(text);
      } catch (e) {
        throw new NrrError(`${file ?? 'standard input'}: not JSON (${e instanceof Error ? e.message : String(e)}): expected a list of rows, or {"rows": [...], "withdraw": [...]}`);
      }
      const batch = Array.isArray(body) ? { rows: body as Record<string, unknown>[] } : (body as { rows?: Record<string, unknown>[]; withdraw?: Record<string, unknown>[] });
      if (batch === null || typeof batch !== 'object') throw new NrrError(`${file ?? 'standard input'}: expected a list of rows, or {"rows": [...], "withdraw": [...]}`);
      const live = await LiveWorkspace.open(openOptions({ ...o, quiet: true }, { signals: true }));
      try {
        const r = await live.apply({ source, rows: batch.rows, withdraw: [...(batch.withdraw ?? []), ...keys], ...(o.batchId === undefined ? {} : { batchId: o.batchId }) });
        if (o.format === 'json') {
          process.stdout.write(stringifyJson(r) + '\n');
          return;
        }
        process.stdout.write(
          r.already_applied
            ? `batch ${r.batch_id} was applied before: nothing changed\n`
            : `batch ${r.batch_id}: ${plural(r.rows, 'row')} ingested into ${r.source} (${r.replaced} replacing rows with the same key), ${plural(r.withdrawn, 'row')} withdrawn; ${plural(r.accounts.length, 'account')} changed\n`,
        );
        const p = r.plays;
        if (p !== null && !r.already_applied) {
          process.stdout.write(
            p.error !== null
              ? `plays of ${plural(p.accounts.length, 'account')} not evaluated: ${p.error} (the next run decides for them)\n`
              : `plays of ${plural(p.accounts.length, 'account')} evaluated for ${p.date}: ${plural(p.opened.length, 'task')} opened, ${p.closed.length} closed\n`,
          );
        }
        for (const w of r.warnings) process.stderr.write(`warning: row ${w.row}, column ${w.column}: '${w.value ?? ''}': expected ${w.expected}\n`);
      } finally {
        live.close();
      }
    });
}

/** `column=value[,column=value]` → { column: value }. */
function withdrawKey(text: string): Record<string, string> {
  const parts = text.split(',').map((p) => p.split('='));
  if (parts.some((p) => p.length !== 2 || p[0]!.trim() === '')) throw new NrrError(`--withdraw '${text}': expected column=value, or several joined by commas (e.g. line_id=L-3)`);
  return Object.fromEntries(parts.map(([k, v]) => [k!.trim(), v!]));
}
