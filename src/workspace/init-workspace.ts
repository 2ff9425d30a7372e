import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CONFIG_FILE_NAME } from '../config/config-file.js';
import { policiesSchema, type Policies } from '../config/policies.js';
import { SOURCES, SUGGESTED_ACCOUNT_COLUMNS, type SourceName } from '../contract/data-contract.js';
import { SIGNAL_SOURCES, type SignalSourceName } from '../contract/signal-contract.js';
import { NrrError } from '../errors.js';
import { prepareDataFolder, writeOwnedFiles } from './owned-files.js';
import { DEFAULT_PLAYBOOKS } from '../playbooks/playbook-config.js';

export { SUGGESTED_ACCOUNT_COLUMNS };

/** What each policy means, its choices and default: the config is documented line by line. */
const POLICY_DOCS: Record<keyof Policies, readonly string[]> = {
  snapshot: [
    "A month's MRR is the MRR in force on its last day (end) or its first day (start).",
    'Contract dates: start inclusive, end exclusive. Choices: end | start.',
  ],
  usage: ['Usage charges (usage.csv) count in MRR in the month they are billed (include), or not at all (exclude).'],
  fx: [
    'Amounts in other currencies are converted at the rate in force when each line starts (contract_start)',
    'or at each month’s rate (monthly); either way FX effects are reported apart, never as expansion',
    'or contraction. Choices: contract_start | monthly.',
  ],
  reporting_currency: ['The ISO code every figure is reported in; fx_rates.csv gives each other currency’s rate to it.'],
  reactivation_window_months: [
    'Revenue returning after months at zero is reactivation; after more months than this it counts as new.',
    'null: always reactivation.',
  ],
  nrr_method: [
    'snapshot: accounts with MRR at the window’s start, their MRR at its end ÷ at its start (the default);',
    'movements: (start + expansion − contraction − churn) ÷ start; average: the mean of monthly NRRs, compounded.',
  ],
  acv_bands: ['ACV bands by annualised MRR at the window’s start: upper bounds (exclusive), ascending; the last is open.'],
  cohort_granularity: ['Cohort vintage for the cohort table and --by cohort. Choices: month | quarter | year.'],
  min_group_accounts: ['Groups with fewer starting accounts than this are flagged as too small to trust.'],
  as_of: [
    'The last month reported, YYYY-MM; it also pins the day live views look from (its last day).',
    'null: the last full month before today, and live views look from today. A later month needs --allow-partial.',
  ],
  timezone: [
    'The time zone (IANA name) in which a date with a time and an offset, such as 2024-03-05T23:30:00Z,',
    'becomes a date (6 March in Europe/Paris). A time without an offset is read as that day.',
  ],
  owner_attribute: [
    'The accounts column naming the owner, for the check that expansion is not concentrated in one owner.',
    'null: use a column named owner or csm when there is one.',
  ],
};

/** The text of a new `nrr.config.yaml`: every policy at its default, each explained above its line. */
export function configTemplate(overrides: Partial<Policies> = {}): string {
  const policies: Policies = { ...policiesSchema.parse({}), ...overrides };
  const lines = [
    '# NRR Engine workspace config. Every policy is at its default unless changed here;',
    '# every report prints the policies it used. Definitions with examples: docs/definitions.md.',
    'version: 1',
    'policies:',
  ];
  for (const key of Object.keys(POLICY_DOCS) as (keyof Policies)[]) {
    lines.push('');
    for (const doc of POLICY_DOCS[key]) lines.push(`  # ${doc}`);
    const yaml = stringify({ [key]: policies[key] }, { lineWidth: 0 }).trimEnd();
    for (const l of yaml.split('\n')) lines.push(`  ${l}`);
  }
  lines.push(
    '',
    '# The health score and the tiers use built-in definitions until these sections are added;',
    '# docs/health.md explains every measure. Remove the leading "# " to start from this example:',
    ...HEALTH_EXAMPLE.map((l) => `# ${l}`),
    '',
    ...playbooksSection(),
    '',
    '# Play state, the daily budget per owner and notification destinations (docs/playbooks.md);',
    '# remove the leading "# " and add `notify: [...]` to a play to use them:',
    ...PLAYBOOK_SETTINGS_EXAMPLE.map((l) => `# ${l}`),
  );
  return lines.join('\n') + '\n';
}

/**
 * The built-in plays written out as config, so that a workspace starts from them and changes them in
 * git; `notify` names destinations for every play. The rules' version equals the built-in one's
 * when nothing is changed and nothing notified.
 */
export function playbooksSection(notify: readonly string[] = []): string[] {
  const lines = [
    '# Playbooks: a trigger over the account record opens a task for the right owner. The rule language',
    '# and every field are in docs/playbooks.md; `nrr playbooks backtest` shows what a threshold catches.',
    'playbooks:',
  ];
  const scalar = (v: unknown): string => stringify(v, { lineWidth: 0 }).trimEnd();
  for (const p of DEFAULT_PLAYBOOKS) {
    const owner = typeof p.task.owner === 'string' ? p.task.owner : `{ by_tier: { ${Object.entries(p.task.owner.by_tier).map(([t, o]) => `"${t}": ${o}`).join(', ')} } }`;
    lines.push(
      `  - name: ${p.name}`,
      ...(p.description ? [`    description: ${scalar(p.description)}`] : []),
      `    when: ${scalar(p.when)}`,
      ...(p.exit ? [`    exit: ${scalar(p.exit)}`] : []),
      `    task: { type: ${p.task.type}, priority: ${p.task.priority}, due_days: ${p.task.due_days}, owner: ${owner} }`,
      `    cooldown_days: ${p.cooldown_days}`,
      `    max_entries_per_year: ${p.max_entries_per_year}`,
      ...(notify.length ? [`    notify: [${notify.join(', ')}]`] : []),
    );
  }
  return lines;
}

/** Where play state lives, the budget, and destinations: a commented example. */
export const PLAYBOOK_SETTINGS_EXAMPLE = [
  'playbook_settings:',
  '  state_file: .nrr/state.duckdb        # tasks and fired events, relative to the data folder',
  '  daily_budget_per_owner: 15           # new tasks per owner per day; the rest wait a day',
  '  destinations:                        # named in a play\'s notify: [crm, cs-alerts, outbox]',
  '    crm: { type: webhook, url: "https://crm.example.com/hooks/nrr", secret_env: NRR_WEBHOOK_SECRET }',
  '    cs-alerts: { type: chat, url: "https://hooks.slack.com/services/T000/B000/XXXX" }',
  '    outbox: { type: outbox, file: outbox/tasks.jsonl }',
];

/** A starting point for `health:` and `tiers:`, written commented out. */
export const HEALTH_EXAMPLE = [
  'health:',
  '  green: 70',
  '  yellow: 40',
  '  default:',
  '    missing: reweight',
  '    measures:',
  '      usage_trend_90d: { healthy: 0, at_risk: -0.3, weight: 30, group: product }',
  '      seat_utilisation: { healthy: 0.7, at_risk: 0.35, weight: 20, group: product }',
  '      qbr_completion_12m: { healthy: 0.9, at_risk: 0.4, weight: 20, group: relationship }',
  '      escalations_90d: { healthy: 0, at_risk: 2, weight: 15, group: support }',
  '      activation_achieved: { healthy: 1, at_risk: 0, weight: 15, group: onboarding }',
  'tiers:',
  '  - { name: Tier 1, when: [{ min_arr: 100000 }] }',
  '  - { name: Tier 2, when: [{ min_arr: 25000 }, { min_expansion_readiness: 50 }] }',
  '  - { name: Tier 3 }',
];

export interface InitOptions {
  /** The reporting currency to write into the config. */
  readonly currency?: string;
  /** Write the signal files' headers too (default true). */
  readonly signals?: boolean;
  /** Overwrite the files init writes when they exist. */
  readonly force?: boolean;
}

/**
 * A new workspace: a documented `nrr.config.yaml` and every contract file with its header only.
 * @returns the files written
 * @example initWorkspace('my-data', { currency: 'EUR' }) // ['nrr.config.yaml', 'subscriptions.csv', …]
 */
export function initWorkspace(dir: string, options: InitOptions = {}): string[] {
  const currency = options.currency?.toUpperCase();
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) {
    throw new NrrError(`--currency: expected a three-letter ISO code such as USD, got '${options.currency}'`);
  }
  const files: [string, string][] = [[CONFIG_FILE_NAME, configTemplate(currency ? { reporting_currency: currency } : {})]];
  for (const source of Object.keys(SOURCES) as SourceName[]) {
    const cols = source === 'accounts' ? SUGGESTED_ACCOUNT_COLUMNS : SOURCES[source].columns.map((c) => c.name);
    files.push([`${source}.csv`, cols.join(',') + '\n']);
  }
  if (options.signals !== false) {
    for (const source of Object.keys(SIGNAL_SOURCES) as SignalSourceName[]) {
      files.push([`${source}.csv`, SIGNAL_SOURCES[source].columns.map((c) => c.name).join(',') + '\n']);
    }
  }
  prepareDataFolder(dir, { force: options.force, forceDoes: 'rewrite the files init writes (nothing else is touched)' });
  writeOwnedFiles(dir, files);
  // The workspace store (.nrr/) is built from the files: it has no place in version control.
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# the workspace store (DuckDB, or embedded ClickHouse in .nrr/clickhouse/) and play state, rebuilt from the files (docs/store.md)\n.nrr/\n');
  return files.map(([name]) => name);
}
