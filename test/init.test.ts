import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../src/config/config-file.js';
import { policiesSchema } from '../src/config/policies.js';
import { SOURCES } from '../src/contract/data-contract.js';
import { SIGNAL_SOURCES } from '../src/contract/signal-contract.js';
import { SUGGESTED_ACCOUNT_COLUMNS, initWorkspace } from '../src/workspace/init-workspace.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';
import { DEFAULT_PLAYBOOKS } from '../src/playbooks/playbook-config.js';
import { DEFAULT_PLAYBOOK_SETTINGS, configVersion } from '../src/playbooks/playbook-settings.js';

const dirs: string[] = [];
const newDir = (): string => {
  const d = fixtureDir({}, 'nrr-init-');
  dirs.push(d);
  return join(d, 'ws');
};
afterAll(() => dirs.forEach(removeDir));

const nrr = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, ['dist/cli/nrr.js', ...args], { encoding: 'utf8' });

describe('nrr init', () => {
  it('writes a config whose policies are exactly the defaults, each explained above its line', () => {
    const dir = newDir();
    initWorkspace(dir);
    const path = join(dir, 'nrr.config.yaml');
    expect(loadConfig(path).policies).toEqual(policiesSchema.parse({}));
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const key of Object.keys(policiesSchema.parse({}))) {
      const at = lines.findIndex((l) => l.startsWith(`  ${key}:`));
      expect(at, key).toBeGreaterThan(0);
      expect(lines[at - 1], key).toMatch(/^ {2}# /);
    }
  });

  it('carries a commented health and tiers example that is a valid config once uncommented', () => {
    const dir = newDir();
    initWorkspace(dir);
    const text = readFileSync(join(dir, 'nrr.config.yaml'), 'utf8');
    const uncommented = uncommentBlock(text, '# health:');
    expect(uncommented).not.toEqual(text);
    const c = parseConfigText(uncommented, 'nrr.config.yaml');
    expect(c.health?.default?.measures.usage_trend_90d).toEqual({ healthy: 0, at_risk: -0.3, weight: 30, group: 'product' });
    expect(c.tiers?.map((t) => t.name)).toEqual(['Tier 1', 'Tier 2', 'Tier 3']);
  });

  it('writes the built-in plays as config, and a commented playbook_settings example that is valid once uncommented', () => {
    const dir = newDir();
    initWorkspace(dir);
    const text = readFileSync(join(dir, 'nrr.config.yaml'), 'utf8');
    const c = parseConfigText(text, 'nrr.config.yaml');
    expect(c.playbooks).toEqual(DEFAULT_PLAYBOOKS);
    // Same rules, same version: a workspace that has not changed a play runs the built-in rules.
    expect(configVersion(c.playbooks!, DEFAULT_PLAYBOOK_SETTINGS)).toBe(configVersion(DEFAULT_PLAYBOOKS, DEFAULT_PLAYBOOK_SETTINGS));
    const settings = parseConfigText(uncommentBlock(text, '# playbook_settings:'), 'nrr.config.yaml').playbook_settings!;
    expect(Object.keys(settings.destinations)).toEqual(['crm', 'cs-alerts', 'outbox']);
    expect(settings.destinations['crm']).toMatchObject({ type: 'webhook', secret_env: 'NRR_WEBHOOK_SECRET', retries: 4 });
    expect(settings.daily_budget_per_owner).toBe(15);
  });

  it('honours --currency, and refuses a code that is not one', () => {
    const dir = newDir();
    initWorkspace(dir, { currency: 'eur' });
    expect(loadConfig(join(dir, 'nrr.config.yaml')).policies.reporting_currency).toBe('EUR');
    expect(() => initWorkspace(newDir(), { currency: 'euro' })).toThrow("--currency: expected a three-letter ISO code such as USD, got 'euro'");
  });

  it('writes every contract file with exactly its header, in contract order', () => {
    const dir = newDir();
    const written = initWorkspace(dir);
    expect(written).toHaveLength(1 + Object.keys(SOURCES).length + Object.keys(SIGNAL_SOURCES).length);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('\n.nrr/\n');
    const header = (f: string): string => readFileSync(join(dir, f), 'utf8');
    expect(header('subscriptions.csv')).toBe('account_id,line_id,product,start_date,end_date,amount,interval,discount,currency\n');
    expect(header('accounts.csv')).toBe(SUGGESTED_ACCOUNT_COLUMNS.join(',') + '\n');
    for (const s of Object.values(SIGNAL_SOURCES)) expect(header(`${s.name}.csv`)).toBe(s.columns.map((c) => c.name).join(',') + '\n');
    const bare = newDir();
    initWorkspace(bare, { signals: false });
    expect(existsSync(join(bare, 'usage.csv'))).toBe(true);
    expect(existsSync(join(bare, 'tickets.csv'))).toBe(false);
  });

  it('refuses a folder that holds contract files, and --force rewrites only its own files', () => {
    const dir = newDir();
    initWorkspace(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'subscriptions.csv'), 'changed');
    const refused = nrr('init', dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${dir} already holds`);
    expect(refused.stderr).toContain('subscriptions.csv');
    expect(readFileSync(join(dir, 'subscriptions.csv'), 'utf8')).toBe('changed');
    const forced = nrr('init', dir, '--force');
    expect(forced.status).toBe(0);
    expect(readFileSync(join(dir, 'subscriptions.csv'), 'utf8')).toMatch(/^account_id,line_id/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('gives a workspace that validates, warns while empty, and reports once lines are added', () => {
    const dir = newDir();
    const made = nrr('init', dir);
    expect(made.status).toBe(0);
    expect(made.stdout).toContain(`nrr report --data ${dir}`);
    const empty = nrr('validate', '--data', dir);
    expect(empty.status).toBe(0);
    expect(empty.stdout).toContain('the file has a header and no rows');
    const subs = join(dir, 'subscriptions.csv');
    // A1: 1,200 a year from January 2024 (MRR 100), renewed in 2025 at 1,800 (MRR 150). A2: 50 a month, gone after June 2024.
    writeFileSync(
      subs,
      readFileSync(subs, 'utf8') +
        'A1,L1,core,2024-01-01,2025-01-01,1200,year,,\nA1,L2,core,2025-01-01,2026-01-01,1800,year,,\nA2,L3,core,2024-01-01,2024-07-01,50,month,,\n',
    );
    const accounts = nrr('accounts', '--data', dir, '--as-of', '2024-06-30', '--sort', 'arr', '--format', 'csv', '-q');
    expect(accounts.status, accounts.stderr).toBe(0);
    // The signal files are empty, so no account has signal data: not scored (health, risk and
    // readiness empty, the reason says why) rather than a green health or a risk of 0. A2's monthly
    // terms alone do not make a risk score. A1's renewal is 185 days off.
    const [, a1, a2] = accounts.stdout.split('\n');
    // Columns: account_id, name, segment, csm_owner, am_owner, status, tier, mrr, arr, health…, term, renewal_date, days_to_renewal, churn_probability_90d, expansion_probability_90d.
    expect(a1).toBe('A1,,,,,active,Tier 3,100,1200,,,,,not scored: no signal data,,not scored: no signal data,contract,2025-01-01,185,,');
    // Five months of history and no churn: no probabilities (empty), and a warning says why.
    expect(accounts.stderr).toContain('no churn or expansion probabilities: thin history');
    expect(a2).toBe('A2,,,,,active,Tier 3,50,600,,,,,not scored: no signal data,,not scored: no signal data,monthly,,,,');
    const m = nrr('metrics', '--data', dir, '--month', '2024-12', '--window', '12', '--format', 'json', '-q');
    expect(m.status, m.stderr).toBe(0);
    const t12m = JSON.parse(m.stdout) as { starting_mrr: number; ending_mrr: number; churn: number; nrr: number };
    // Cohort of December 2023 is empty (revenue starts in January): the window's start is 2023-12.
    expect(t12m.starting_mrr).toBe(0);
    const q = nrr('metrics', '--data', dir, '--month', '2025-01', '--window', '12', '--format', 'json', '-q');
    const jan = JSON.parse(q.stdout) as { starting_mrr: number; ending_mrr: number; churn: number; expansion: number; nrr: number };
    // Start (January 2024): 100 + 50 = 150. End (January 2025): 150. Expansion 50, churn 50.
    expect(jan.starting_mrr).toBe(150);
    expect(jan.ending_mrr).toBe(150);
    expect(jan.expansion).toBe(50);
    expect(jan.churn).toBe(50);
    expect(jan.nrr).toBe(1);
  });
});

/** The config text with the commented block starting at `first` uncommented. */
function uncommentBlock(text: string, first: string): string {
  const lines = text.split('\n');
  let i = lines.indexOf(first);
  expect(i, first).toBeGreaterThan(0);
  for (; i < lines.length && lines[i]!.startsWith('# '); i++) lines[i] = lines[i]!.slice(2);
  return lines.join('\n');
}
