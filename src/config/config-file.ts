import { existsSync, readFileSync } from 'node:fs';
import { checkRegularFile } from '../input-file.js';
import { join, resolve } from 'node:path';
import { LineCounter, isNode, parseDocument } from 'yaml';
import { z } from 'zod';
import { policiesSchema, type Policies, type PolicyInput } from './policies.js';
import { NrrError } from '../errors.js';
import { healthConfigSchema } from '../health/health-config.js';
import { tiersSchema } from '../accounts/tiering.js';
import { playbooksSchema } from '../playbooks/playbook-config.js';
import { playbookSettingsSchema } from '../playbooks/playbook-settings.js';
import { BENCHMARK_KEYS } from '../report/benchmarks.js';
import { stripeConfigSchema } from '../stripe/stripe-settings.js';
import { warehouseConfigSchema } from './warehouse-config.js';

export const CONFIG_FILE_NAME = 'nrr.config.yaml';

const benchmarkChoices = [...BENCHMARK_KEYS, 'none'] as const;

/**
 * `benchmark:`: per grouping (an account attribute such as `segment`, or `product`, `acv_band`…),
 * the benchmark each named group is compared with, or `none`; unnamed groups go by ACV band.
 * @example benchmark: { segment: { Enterprise: enterprise, Self-serve: product-led, Partners: none } }
 */
const benchmarkMappingSchema = z.record(
  z.string().min(1, 'a grouping name such as segment'),
  z.record(
    z.string().min(1, 'a group value'),
    z.enum(benchmarkChoices, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a benchmark; use one of: ${benchmarkChoices.join(', ')}`,
    }),
    { error: 'a map from group value to benchmark, e.g. { Enterprise: enterprise, SMB: smb }' },
  ),
  { error: 'a map from grouping to { group value: benchmark }, e.g. { segment: { Enterprise: enterprise } }' },
);

const configSchema = z
  .object({
    version: z.literal(1).default(1),
    policies: policiesSchema.default(policiesSchema.parse({})),
    /** The health score's definition (src/health/health-config.ts); the built-in one when absent. */
    health: healthConfigSchema.optional(),
    /** Tiering rules (src/accounts/tiering.ts); Tier 1/2/3 by ARR and expansion readiness when absent. */
    tiers: tiersSchema.optional(),
    /** Playbooks (src/playbooks/playbook-config.ts); the built-in plays when absent. */
    playbooks: playbooksSchema.optional(),
    /** Where play state lives, the daily budget per owner, and notification destinations (src/playbooks/playbook-settings.ts). */
    playbook_settings: playbookSettingsSchema.optional(),
    /** Which benchmark each group is compared with; by ACV band when absent. */
    benchmark: benchmarkMappingSchema.optional(),
    /** How Stripe objects are mapped, and the webhook signature's age limit (docs/stripe.md, Settings). */
    stripe: stripeConfigSchema.optional(),
    /** The workspace store (docs/store.md): absolute, or relative to the data folder; default .nrr/workspace.duckdb. */
    store_file: z.string().min(1).optional(),
    /** Tables already in a warehouse that hold the sources instead of files (docs/engines.md). */
    warehouse: warehouseConfigSchema.optional(),
    /** `nrr serve`: where it listens, and the environment variable holding its API token. */
    serve: z
      .object({
        port: z.number().int().min(1).max(65535).default(4317),
        host: z.string().min(1).default('127.0.0.1'),
        token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').default('NRR_API_TOKEN'),
        /** Host names answered without a token besides localhost, 127.0.0.1 and [::1] (docs/dashboard.md). */
        allowed_hosts: z.array(z.string().min(1)).default([]),
        /** Megabytes of API answers kept in memory. */
        cache_mb: z.number().positive().max(65536).default(64),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const known = Object.keys(c.playbook_settings?.destinations ?? {});
    (c.playbooks ?? []).forEach((p, i) =>
      p.notify.forEach((name, j) => {
        if (!known.includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['playbooks', i, 'notify', j],
            message: `no destination '${name}' in playbook_settings.destinations (${known.length ? `known: ${known.join(', ')}` : 'none defined'})`,
          });
        }
      }),
    );
  });

export type WorkspaceConfig = z.infer<typeof configSchema>;

/** Finds the config: an explicit path, else `nrr.config.yaml` in the data folder, else in the current folder. */
export function findConfigFile(explicit: string | undefined, dataDir: string | undefined): string | undefined {
  if (explicit) {
    if (!existsSync(explicit)) throw new NrrError(`config file not found: ${explicit}`);
    return resolve(explicit);
  }
  for (const dir of [dataDir, process.cwd()]) {
    if (!dir) continue;
    const p = join(dir, CONFIG_FILE_NAME);
    if (existsSync(p)) return resolve(p);
  }
  return undefined;
}

/**
 * Reads and validates a workspace config; every problem names the file, line and key.
 * @example loadConfig('nrr.config.yaml').policies.snapshot // 'end'
 */
export function loadConfig(path: string | undefined): WorkspaceConfig {
  if (!path) return configSchema.parse({});
  checkRegularFile(path);
  return parseConfigText(readFileSync(path, 'utf8'), path);
}

export function parseConfigText(text: string, fileName: string): WorkspaceConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new NrrError(`${fileName}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    let node: unknown = doc.getIn(path, true);
    // An unknown key has no value node of its own; point at its parent.
    if (!isNode(node)) node = doc.getIn(path.slice(0, -1), true);
    const offset = isNode(node) && node.range ? node.range[0] : undefined;
    const where = offset !== undefined ? `:${lineCounter.linePos(offset).line}` : '';
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return `${fileName}${where}: ${path.join('.') || '(top level)'}: ${issue.message}${keys}`;
  });
  throw new NrrError(`invalid config:\n  ${problems.join('\n  ')}`);
}

/** Config policies overridden by whatever the caller set explicitly (CLI flags, library options). */
export function mergePolicies(base: Policies, overrides: PolicyInput | undefined): Policies {
  const merged = { ...base, ...stripUndefined(overrides ?? {}) };
  const parsed = policiesSchema.safeParse(merged);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new NrrError(`invalid policy: ${msg}`);
  }
  return parsed.data;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
