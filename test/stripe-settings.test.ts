import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mappedStripeSettings } from '../src/stripe/import-stripe.js';
import { resolveStripeSettings, stripeSettingsSchema } from '../src/stripe/stripe-settings.js';
import { webhookTolerance } from '../src/stripe/stripe-webhook.js';
import { freePort } from './helpers/free-port.js';

/**
 * Where the Stripe mapping's settings come from: the config's `stripe:` section, the import's flags
 * for folders without one, and stripe/settings.json recording what the contract files were mapped
 * with. The corpus's case 15 holds a test-mode customer (cus_testmode, 5.00 a month from 2026-01-01)
 * that only `include_test_mode` maps, so its line in subscriptions.csv tells which setting was used.
 */

const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const CORPUS = join(process.cwd(), 'test/fixtures/stripe/corpus');
const ENV = { ...process.env, CI: 'true', NRR_TODAY: '2026-07-15' };
const nrr = (args: readonly string[], env: Record<string, string> = {}, timeout = 60_000) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...ENV, ...env }, timeout });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
};
const TEST_MODE_LINE = 'cus_testmode,si_testmode@2026-01-01,App,2026-01-01,,500,0,USD';

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nrr-stripe-settings-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const folder = (name: string, config?: string): string => {
  const dir = join(root, name);
  if (config !== undefined) {
    spawnSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'nrr.config.yaml'), config);
  }
  return dir;
};
const subscriptions = (dir: string): string => readFileSync(join(dir, 'subscriptions.csv'), 'utf8');
const recorded = (dir: string): unknown => JSON.parse(readFileSync(join(dir, 'stripe', 'settings.json'), 'utf8'));

describe('Stripe settings in the config', () => {
  it('the config sets the mapping without a flag, and the import records what it used', () => {
    const dir = folder('from-config', 'stripe:\n  include_test_mode: true\n');
    const r = nrr(['stripe', 'import', '--data', dir, '-q', CORPUS]);
    expect(r.status, r.stderr).toBe(0);
    expect(subscriptions(dir)).toContain(TEST_MODE_LINE);
    expect(recorded(dir)).toEqual({ profile: 'nrr', account_metadata_key: null, include_test_mode: true });
  });

  it('a flag that contradicts the config is refused, naming both, and nothing is written', () => {
    const dir = folder('contradiction', 'stripe:\n  profile: chartmogul\n');
    const r = nrr(['stripe', 'import', '--data', dir, '--profile', 'stripe', CORPUS]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--profile "stripe" contradicts stripe\.profile: "chartmogul" in .*nrr\.config\.yaml; change the config/);
    expect(existsSync(join(dir, 'subscriptions.csv'))).toBe(false);
    // The same value as the config's is no contradiction.
    expect(nrr(['stripe', 'import', '--data', dir, '-q', '--profile', 'chartmogul', CORPUS]).status).toBe(0);
    expect(recorded(dir)).toMatchObject({ profile: 'chartmogul' });
  });

  it('an unknown profile in the config names the file, the line and the choices', () => {
    const dir = folder('bad-config', 'policies:\n  snapshot: end\nstripe:\n  profile: baremetrics\n');
    const r = nrr(['stripe', 'import', '--data', dir, CORPUS]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nrr\.config\.yaml:4: stripe\.profile: "baremetrics" is not a profile; use one of: nrr, stripe, chartmogul, profitwell/);
  });

  it('after the config changes, webhooks are refused until the kept objects are mapped again by an import without a path', async () => {
    const dir = folder('changed');
    expect(nrr(['stripe', 'import', '--data', dir, '-q', CORPUS]).status).toBe(0);
    expect(subscriptions(dir)).not.toContain('cus_testmode');
    expect(mappedStripeSettings(dir, undefined)).toMatchObject({ include_test_mode: false });

    writeFileSync(join(dir, 'nrr.config.yaml'), 'stripe:\n  include_test_mode: true\n');
    const rates = ['currency,month,rate'];
    for (let m = 1; m <= 12; m++) rates.push(`EUR,2026-${String(m).padStart(2, '0')},1.1`, `JPY,2026-${String(m).padStart(2, '0')},0.0065`);
    writeFileSync(join(dir, 'fx_rates.csv'), rates.join('\n') + '\n');
    expect(() => mappedStripeSettings(dir, undefined)).toThrow(/include_test_mode: false → true\): run `nrr stripe import --data .*changed` to map the kept objects again/);
    // nrr serve with a webhook secret stops at start with the same message instead of mixing two mappings.
    const serve = nrr(['serve', '--data', dir, '--port', String(await freePort())], { STRIPE_WEBHOOK_SECRET: 'whsec_test' }, 30_000);
    expect(serve.status).toBe(1);
    expect(serve.stderr).toMatch(/differ from those .*Stripe data was mapped with/);

    const again = nrr(['stripe', 'import', '--data', dir, '-q']);
    expect(again.status, again.stderr).toBe(0);
    expect(subscriptions(dir)).toContain(TEST_MODE_LINE);
    expect(mappedStripeSettings(dir, undefined)).toMatchObject({ include_test_mode: true });
  });

  it('an import without a path needs kept objects', () => {
    const r = nrr(['stripe', 'import', '--data', folder('empty')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nothing to map: .*objects\.jsonl does not exist; give a file or folder of Stripe objects/);
  });
});

describe('resolving the settings', () => {
  const defaults = stripeSettingsSchema.parse({});
  it('recorded, then config, then flags; a flag equal to the config passes', () => {
    const recordedSettings = { ...defaults, account_metadata_key: 'crm_id' };
    expect(resolveStripeSettings(recordedSettings, { profile: 'stripe' }, 'c.yaml', { include_test_mode: true })).toEqual({
      settings: { profile: 'stripe', account_metadata_key: 'crm_id', include_test_mode: true },
    });
    expect(resolveStripeSettings(recordedSettings, { account_metadata_key: null }, 'c.yaml', { profile: 'stripe' })).toEqual({
      settings: { profile: 'stripe', account_metadata_key: null, include_test_mode: false },
    });
    expect(resolveStripeSettings(defaults, { profile: 'stripe' }, 'c.yaml', { profile: 'stripe' })).toEqual({ settings: { ...defaults, profile: 'stripe' } });
  });
  it('a contradicting flag is an error naming the flag and the key', () => {
    expect(resolveStripeSettings(defaults, { account_metadata_key: 'crm_id' }, 'c.yaml', { account_metadata_key: 'hubspot_id' })).toEqual({
      error: expect.stringMatching(/^--account-key "hubspot_id" contradicts stripe\.account_metadata_key: "crm_id" in c\.yaml/) as unknown as string,
    });
  });
  it('the webhook tolerance: the environment, else the config, else 300 s', () => {
    expect(webhookTolerance({}, undefined)).toBe(300);
    expect(webhookTolerance({}, 600)).toBe(600);
    expect(webhookTolerance({ STRIPE_WEBHOOK_TOLERANCE: '30' }, 600)).toBe(30);
  });
});
