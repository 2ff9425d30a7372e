import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { NrrError } from '../errors.js';
import { stringifyJson } from '../money.js';
import type { ImportResult } from '../stripe/import-stripe.js';
import { API_BASE_ENV, API_KEY_ENV, STRIPE_API_VERSION, pendingSync, syncStripe, type StripeSyncResult } from '../stripe/stripe-api-sync.js';
import { positiveInt, today } from './common-options.js';
import { formatRows, ROW_FORMATS, type RowFormat } from './output-format.js';
import { plural } from './plural-text.js';
import { writeOutput } from './standard-output.js';
import { stripeCommand } from './stripe-command.js';

/** The work folder of a sync inside a data folder (kept while a sync is unfinished). */
const SYNC_DIR = '.sync';
/** The record of the last completed sync. */
const SYNC_RECORD = 'sync.json';

interface LiveOptions {
  data: string;
  config?: string;
  quiet?: boolean;
}

const dataOption = (): Option => new Option('-d, --data <dir>', 'data folder (its Stripe objects are kept under stripe/)').default('.');

/** The last completed sync kept in a data folder's Stripe folder (stripeDir), if any. */
export function lastStripeSync(dir: string): (StripeSyncResult & { import?: Pick<ImportResult, 'accounts' | 'lines' | 'usage_rows'> }) | null {
  try {
    return JSON.parse(readFileSync(join(dir, SYNC_RECORD), 'utf8')) as StripeSyncResult;
  } catch {
    return null;
  }
}

/** Adds `sync` and `status` to `nrr stripe`. */
export function registerStripeLive(program: Command): void {
  const stripe = stripeCommand(program);

  stripe
    .command('sync')
    .description("fetch a Stripe account's objects through Stripe's API (key from STRIPE_API_KEY) into a data folder, and map them as nrr stripe import does")
    .addOption(dataOption())
    .option('-c, --config <file>', 'workspace config whose timezone turns Stripe timestamps into dates (default: nrr.config.yaml in the data folder)')
    .option('--api-base <url>', `send the requests to another address than api.stripe.com (or ${API_BASE_ENV}); e.g. a local server speaking Stripe's protocol`)
    .option('--page-size <n>', 'objects per request, 1 to 100 (default 100)', positiveInt)
    .option('--max-retries <n>', 'retries of a failed request by the client (connection errors, 409, 5xx; default 3)', positiveInt)
    .option('--force', 'replace accounts.csv, subscriptions.csv or usage.csv even if nrr did not write them')
    .option('-q, --quiet', 'print no progress')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Lists customers, products, prices, coupons, subscriptions (every status, discounts expanded),
subscription schedules, invoices (with all their lines) and credit notes through the official
stripe client, pinned to API version ${STRIPE_API_VERSION} (recorded in stripe/sync.json), each list
followed to its end. Requests Stripe refuses as too many (429) are waited for (Retry-After) and
made again; the client retries connection errors and 5xx itself. The cursor of every list is kept
in stripe/.sync/ after each page: a sync stopped half way continues where it stopped when run again.
When every list is done, the objects are added to those kept in stripe/objects.jsonl (newer copies
win) and mapped into accounts.csv, subscriptions.csv and usage.csv as nrr stripe import does.
A read-only restricted key (rk_live_…) with read access to those objects is enough.

Examples:
  nrr stripe status --data my-data
  STRIPE_API_KEY=rk_live_... nrr stripe sync --data my-data
  STRIPE_API_KEY=sk_test_x nrr stripe sync --data my-data --api-base http://127.0.0.1:12111`,
    )
    .action(async (o: LiveOptions & { apiBase?: string; pageSize?: number; maxRetries?: number; force?: boolean; format: 'text' | 'json' }) => {
      const apiKey = process.env[API_KEY_ENV];
      if (!apiKey) throw new NrrError(`${API_KEY_ENV} is not set: put a secret or restricted Stripe API key in it (read access to customers, products, prices, coupons, subscriptions, invoices and credit notes)`);
      const say = o.quiet || o.format === 'json' ? () => undefined : (m: string) => process.stderr.write(`${m}\n`);
      let imported: ImportResult | null = null;
      const { importStripe, stripeDir } = await import('../stripe/import-stripe.js');
      const r = await syncStripe({
        dir: join(stripeDir(o.data), SYNC_DIR),
        apiKey,
        apiBase: o.apiBase ?? process.env[API_BASE_ENV],
        pageSize: o.pageSize,
        maxNetworkRetries: o.maxRetries,
        onProgress: say,
        commit: async (objectsDir) => {
          imported = await importStripe({ data: o.data, path: objectsDir, config: o.config, force: o.force, now: Math.floor(today().getTime() / 1000) });
        },
      });
      const done = imported as ImportResult | null;
      const record = { ...r, import: done ? { accounts: done.accounts, lines: done.lines, usage_rows: done.usage_rows } : undefined };
      writeFileSync(join(stripeDir(o.data), SYNC_RECORD), JSON.stringify(record, null, 2) + '\n');
      if (o.format === 'json') {
        process.stdout.write(stringifyJson({ ...record, warnings: done?.warnings ?? [] }) + '\n');
        return;
      }
      if (o.quiet) return;
      const fetched = Object.entries(r.counts)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ');
      const lines = [
        `fetched ${fetched} (API version ${r.api_version}${r.resumed ? ', continuing a sync stopped half way' : ''}${r.rate_limited > 0 ? `; ${plural(r.rate_limited, 'request')} rate limited and made again` : ''})`,
        ...(done ? [`wrote ${plural(done.accounts, 'account')}, ${plural(done.lines, 'contract line')} and ${plural(done.usage_rows, 'usage row')} (${done.files.join(', ')})`] : []),
        ...(done?.warnings ?? []).map((w) => `warning: ${w}`),
      ];
      process.stderr.write(lines.join('\n') + '\n');
    });

  stripe
    .command('status')
    .description('the last Stripe sync (or one stopped half way) and the webhook events received: applied, superseded, ignored, failed (kept for retry)')
    .addOption(dataOption())
    .option('--events', 'list every event instead of the failed ones')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .option('--force', 'replace an -o file that nrr did not write')
    .option('-q, --quiet', 'print no summary, only the rows')
    .addHelpText(
      'after',
      `
Prints, on standard error, the last sync (when, API version, objects per type) and a sync stopped
half way (nrr stripe sync continues it), and counts the webhook events of stripe/events.jsonl by
status; then lists the failed events (id, type, created, attempts, error), which nrr serve applies
again at start and when Stripe sends them again. With --events every event is listed.

Examples:
  nrr stripe status --data my-data
  nrr stripe status --data my-data --events --format json`,
    )
    .action(async (o: LiveOptions & { events?: boolean; format: RowFormat; out?: string; force?: boolean }) => {
      const [{ stripeDir }, { StripeEventLog }, { EVENTS_FILE }] = await Promise.all([
        import('../stripe/import-stripe.js'),
        import('../stripe/stripe-events.js'),
        import('../stripe/stripe-webhook-endpoint.js'),
      ]);
      const dir = stripeDir(o.data);
      const log = StripeEventLog.open(join(dir, EVENTS_FILE));
      const sync = lastStripeSync(dir);
      const pending = pendingSync(join(dir, SYNC_DIR));
      if (!o.quiet) {
        const c = log.counts();
        const total = c.applied + c.superseded + c.ignored + c.failed;
        const lines = [
          sync
            ? `last sync: finished ${sync.finished_at} (API version ${sync.api_version}): ${Object.entries(sync.counts)
                .map(([t, n]) => `${n} ${t}`)
                .join(', ')}`
            : 'last sync: none (nrr stripe sync)',
          ...(pending
            ? [`a sync started ${pending.started_at} stopped half way (${Object.entries(pending.types).filter(([, t]) => t.done).length} of ${Object.keys(pending.types).length} lists done): nrr stripe sync continues it`]
            : []),
          `webhook events: ${total} received: ${c.applied} applied, ${c.superseded} superseded by a later version, ${c.ignored} ignored (not about objects the mapping reads), ${c.failed} failed`,
        ];
        process.stderr.write(lines.join('\n') + '\n');
      }
      const rows = (o.events ? log.all() : log.failed())
        .sort((a, b) => a.created - b.created || a.id.localeCompare(b.id))
        .map((e) => ({
          event_id: e.id,
          type: e.type,
          created: new Date(e.created * 1000).toISOString(),
          object_id: e.object_id,
          status: e.status,
          attempts: e.attempts,
          customers: (e.customers ?? []).join(' '),
          error: e.error ?? null,
        }));
      if (rows.length === 0 && o.format === 'table') {
        if (!o.quiet) process.stderr.write(o.events ? 'no events received\n' : 'no failed events\n');
        return;
      }
      await writeOutput(o, formatRows(rows, ['event_id', 'type', 'created', 'object_id', 'status', 'attempts', 'customers', 'error'], o.format));
    });
}
