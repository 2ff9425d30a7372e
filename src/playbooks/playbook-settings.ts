import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Playbook } from './playbook-config.js';

/**
 * How plays run (`playbook_settings:` in the config): where their state lives, how many tasks an
 * owner may get in a day, and the destinations a play's `notify:` names.
 */
const retries = z.number().int().min(0).max(10).default(4);
const backoff = z.number().int().min(0).max(600_000).default(1000);
const timeout = z.number().int().positive().max(600_000).default(10_000);

export const destinationSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('webhook'),
      url: z.url(),
      /** The environment variable holding the HMAC secret every delivery is signed with. */
      secret_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
      retries,
      backoff_ms: backoff,
      timeout_ms: timeout,
    })
    .strict(),
  z.object({ type: z.literal('chat'), url: z.url(), retries, backoff_ms: backoff, timeout_ms: timeout }).strict(),
  z
    .object({
      type: z.literal('outbox'),
      /** A .jsonl or .csv file, relative to the data folder; one line per fired action, appended. */
      file: z.string().regex(/\.(jsonl|csv)$/i, 'a file ending in .jsonl or .csv'),
    })
    .strict(),
]);
export type Destination = z.infer<typeof destinationSchema>;

export const playbookSettingsSchema = z
  .object({
    /** The embedded database holding tasks, members and fired events; relative to the data folder. */
    state_file: z.string().min(1).default('.nrr/state.duckdb'),
    /** At most this many new tasks per owner per day (a digital sequence has no limit); the rest wait. */
    daily_budget_per_owner: z.number().int().positive().default(15),
    /**
     * At most this long of a run is spent delivering; what is left waits for the next run. Within
     * it, each request still has its destination's `timeout_ms`.
     */
    delivery_time_limit_ms: z.number().int().positive().max(86_400_000).default(600_000),
    destinations: z.record(z.string().regex(/^[a-z0-9_-]+$/, 'lower-case letters, digits, _ and - only'), destinationSchema).default({}),
  })
  .strict();
export type PlaybookSettings = z.infer<typeof playbookSettingsSchema>;
export const DEFAULT_PLAYBOOK_SETTINGS: PlaybookSettings = playbookSettingsSchema.parse({});

/** The state database's path: absolute, or relative to the data folder. */
export function statePath(dataDir: string, settings: PlaybookSettings): string {
  return isAbsolute(settings.state_file) ? settings.state_file : resolve(join(dataDir, settings.state_file));
}

/** An outbox file's path: absolute, or relative to the data folder. */
export function outboxPath(dataDir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(join(dataDir, file));
}

/**
 * The rules' version: a hash of the plays and the budget, recorded on every fired action so that a
 * task can be traced to the exact rules that opened it. Key order does not change it.
 * @example configVersion(DEFAULT_PLAYBOOKS, DEFAULT_PLAYBOOK_SETTINGS) // 'c0ffee12ab34'
 */
export function configVersion(playbooks: readonly Playbook[], settings: PlaybookSettings): string {
  const text = canonicalJson({ playbooks, daily_budget_per_owner: settings.daily_budget_per_owner });
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
