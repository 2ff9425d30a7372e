import { Option, type Command } from 'commander';
import { findConfigFile, loadConfig } from '../config/config-file.js';
import { lastFullMonth, monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { stringifyJson } from '../money.js';
import type { ImportResult } from '../stripe/import-stripe.js';
import { PROFILE_NAMES, type StripeProfileName } from '../stripe/stripe-profiles.js';
import { month, outOption, today } from './common-options.js';
import { formatRows, ROW_FORMATS, type RowFormat } from './output-format.js';
import { plural } from './plural-text.js';
import { writeOutput } from './standard-output.js';

/**
 * `nrr stripe …`: Stripe objects into a data folder (`import`) and our MRR against other tools'
 * (`reconcile`). `stripeCommand` returns the group so that other subcommands (sync, status) are
 * added to the same group.
 */

interface StripeOptions {
  data: string;
  config?: string;
  quiet?: boolean;
  force?: boolean;
}

const dataOption = (what = 'data folder to write the contract files into (and to keep the Stripe objects in, under stripe/)'): Option => new Option('-d, --data <dir>', what).default('.');

const profileOption = (what: string): Option => new Option('--profile <name>', what).choices([...PROFILE_NAMES]);

const groups = new WeakMap<Command, Command>();

/** The `nrr stripe` group of `program` (created on first use). */
export function stripeCommand(program: Command): Command {
  const had = groups.get(program);
  if (had) return had;
  const group = program
    .command('stripe')
    .description('Stripe: import objects into a data folder, and reconcile our MRR with Stripe, ChartMogul or ProfitWell')
    .addHelpText(
      'after',
      `
The mapping (customers → accounts, subscription items → contract lines, metered invoice lines →
usage) and the profiles are written down in docs/stripe.md.

Examples:
  nrr stripe import --data my-data exports/stripe
  nrr stripe reconcile --data my-data --profile stripe`,
    );
  groups.set(program, group);
  return group;
}

function printImport(r: ImportResult, o: StripeOptions & { format: 'text' | 'json' }): void {
  if (o.format === 'json') {
    process.stdout.write(stringifyJson(r) + '\n');
    return;
  }
  const n = r.objects;
  const lines = [
    `read ${plural(n.customer, 'customer')}, ${plural(n.subscription, 'subscription')}, ${plural(n.invoice, 'invoice')}, ${plural(n.price, 'price')}, ${plural(n.subscription_schedule, 'schedule')}, ${plural(n.coupon, 'coupon')}, ${plural(n.credit_note, 'credit note')} in ${r.seconds.read.toFixed(1)} s`,
    `wrote ${plural(r.accounts, 'account')}, ${plural(r.lines, 'contract line')} and ${plural(r.usage_rows, 'usage row')} (${r.files.join(', ')}) with profile ${r.settings.profile} in ${(r.seconds.map + r.seconds.write).toFixed(1)} s`,
  ];
  const skipped = Object.entries(r.skipped);
  if (skipped.length > 0) lines.push(`not read (not used by the mapping): ${skipped.map(([t, c]) => `${c} ${t}`).join(', ')}`);
  if (r.currencies.length > 1) lines.push(`currencies: ${r.currencies.join(', ')}; every currency but the reporting one needs rates in fx_rates.csv (docs/data-contract.md)`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (!o.quiet) process.stderr.write(lines.join('\n') + '\n');
}

/** Registers `nrr stripe` with `import` and `reconcile`. */
export function registerStripe(program: Command): void {
  const stripe = stripeCommand(program);

  stripe
    .command('import')
    .description('read Stripe objects (list-API JSON pages or JSON lines) and write accounts, subscriptions and usage into a data folder')
    .argument('[path]', 'a folder of *.json list pages ({"object":"list","data":[…]}) or *.jsonl files, or one such file; without it, the kept objects are mapped again (after a change of the stripe: settings)')
    .addOption(dataOption())
    .option('-c, --config <file>', 'workspace config: its stripe: section sets the mapping, its timezone turns Stripe timestamps into dates (default: nrr.config.yaml in the data folder)')
    .addOption(profileOption('how the points on which tools differ are read (for a folder without stripe.profile in its config; kept for later imports and syncs; default nrr)'))
    .option('--account-key <key>', 'a customer metadata key whose value is the account id (default: the Stripe customer id)')
    .option('--include-test-mode', 'map test-mode objects (livemode: false) too; by default they are left out')
    .option('--replace', 'forget the objects kept from earlier imports; by default the new ones are added to them (newer copies win)')
    .option('--force', 'replace accounts.csv, subscriptions.csv or usage.csv even if nrr did not write them')
    .option('-q, --quiet', 'do not print what was read and written')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Writes accounts.csv, subscriptions.csv (in the mrr form, one line per subscription item and price
period, named like si_…@2026-01-01) and usage.csv (metered invoice lines) into the data folder, and
keeps the Stripe objects in stripe/objects.jsonl and the settings in stripe/settings.json, so that a
later import adds to them. Afterwards nrr mrr, movements, metrics, explain report the Stripe data.
A file nrr did not write is never replaced (unless --force). Stripe timestamps become dates in the
workspace's timezone policy. See docs/stripe.md for every rule.

The mapping's settings are best set in the config, where later syncs and webhooks read them:
  stripe: { profile: chartmogul, account_metadata_key: crm_id }
A flag contradicting the config is refused. After changing them, run the import without a path
to map the kept objects again (\`nrr serve\` refuses webhooks until then), as the second example does.

Examples:
  nrr stripe import --data my-data exports/stripe
  nrr stripe import --data my-data
  nrr stripe import --data my-data exports/stripe/customers.jsonl --profile chartmogul
  nrr stripe import --data my-data exports/stripe --account-key crm_id --format json`,
    )
    .action(async (path: string | undefined, o: StripeOptions & { profile?: StripeProfileName; accountKey?: string; includeTestMode?: boolean; replace?: boolean; format: 'text' | 'json' }) => {
      const now = Math.floor(today().getTime() / 1000);
      const { importStripe } = await import('../stripe/import-stripe.js');
      const r = await importStripe({
        data: o.data,
        path,
        config: o.config,
        settings: { profile: o.profile, account_metadata_key: o.accountKey, include_test_mode: o.includeTestMode ? true : undefined },
        replace: o.replace,
        force: o.force,
        now,
      });
      printImport(r, o);
    });

  stripe
    .command('reconcile')
    .description("our MRR per month beside a profile's (stripe, chartmogul, profitwell), the difference attributed to each rule with the subscriptions behind it")
    .addOption(dataOption('data folder whose Stripe objects (stripe/objects.jsonl, kept by nrr stripe import) are compared'))
    .option('-c, --config <file>', 'workspace config (default: nrr.config.yaml in the data folder)')
    .addOption(profileOption('the tool to compare with').makeOptionMandatory())
    .option('--from <YYYY-MM>', 'first month (default: 11 months before --to)', month)
    .option('--to <YYYY-MM>', 'last month (default: the last full month before today, or as_of in the config)', month)
    .option('--all', 'list every month, also those without a difference')
    .option('-q, --quiet', 'print no notes')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .option('--force', 'replace an -o file that nrr did not write')
    .addHelpText(
      'after',
      `
Maps the folder's Stripe objects (stripe/objects.jsonl, kept by nrr stripe import) twice: with our
rules and with the profile's, in each line's currency, MRR after discount at each month's snapshot.
The rules are then switched one at a time (docs/stripe.md#reconcile): each rule's row is the part of
the difference it makes, with the subscriptions whose MRR it changes. Rows of rule "total" give both
MRRs; the rule rows of a month add up to its total.

Examples:
  nrr stripe reconcile --data my-data --profile stripe
  nrr stripe reconcile --data my-data --profile chartmogul --from 2026-01 --to 2026-06 --format csv -o reconcile.csv`,
    )
    .action(async (o: StripeOptions & { profile: StripeProfileName; from?: string; to?: string; all?: boolean; format: RowFormat; out?: string }) => {
      const [{ effectiveStripeSettings, mappingSettings, readKeptObjects }, { reconcile }] = await Promise.all([import('../stripe/import-stripe.js'), import('../stripe/stripe-reconcile.js')]);
      const settings = effectiveStripeSettings(o.data, o.config);
      const objects = await readKeptObjects(o.data);
      if (objects.customers.size === 0 && objects.subscriptions.size === 0) {
        throw new NrrError(`${o.data} holds no Stripe objects (stripe/objects.jsonl): run nrr stripe import --data ${o.data} PATH first`);
      }
      const config = loadConfig(findConfigFile(o.config, o.data));
      const to = o.to ?? config.policies.as_of ?? monthText(lastFullMonth(today()));
      const from = o.from ?? monthText(monthIndex(to) - 11);
      if (monthIndex(from) > monthIndex(to)) throw new NrrError(`--from ${from} is after --to ${to}`);
      const rows = reconcile(objects, mappingSettings(o.data, o.config, settings, Math.floor(today().getTime() / 1000)), {
        ours: settings.profile,
        profile: o.profile,
        from,
        to,
        snapshot: config.policies.snapshot,
        usage: config.policies.usage,
      });
      const shown = o.all ? rows : rows.filter((r) => r.rule !== 'total' || !r.difference.isZero());
      const flat = shown.map((r) => ({
        ...r,
        subscriptions: o.format === 'json' ? r.subscriptions : r.subscriptions.length > 5 && o.format !== 'csv' ? `${r.subscriptions.slice(0, 5).join(' ')} … (${r.subscriptions.length})` : r.subscriptions.join(' '),
      }));
      await writeOutput(o, formatRows(flat as unknown as Record<string, never>[], ['month', 'currency', 'rule', 'about', 'ours', 'profile', 'difference', 'subscriptions'], o.format));
      if (!o.quiet && shown.length === 0) process.stderr.write(`no difference between ${settings.profile} and ${o.profile} from ${from} to ${to}\n`);
    });
}
