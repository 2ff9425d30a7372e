import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { findConfigFile, loadConfig } from '../config/config-file.js';
import { NrrError } from '../errors.js';
import { checkOutputPath, foreignFiles, fsErrorText, recordWritten, writeFileWhole } from '../workspace/owned-files.js';
import { ACCOUNT_COLUMNS, SUBSCRIPTION_COLUMNS, USAGE_COLUMNS, mapStripe, type ContractRows, type StripeMappingSettings } from './stripe-mapping.js';
import { allStripeObjects, countStripeObjects, emptyStripeObjects, readStripeObjects, type StripeObjects, type StripeType } from './stripe-objects.js';
import { type StripeProfileName } from './stripe-profiles.js';
import { mappingDifferences, resolveStripeSettings, stripeSettingsSchema, type StripeSettings } from './stripe-settings.js';

export { stripeSettingsSchema, type StripeSettings };

/**
 * `nrr stripe import`: Stripe objects from files → the data folder's contract files
 * (accounts.csv, subscriptions.csv, usage.csv) and, beside them, the raw objects
 * (stripe/objects.jsonl) and the import's settings (stripe/settings.json), so that a later
 * re-map, sync or webhook starts from them. Every file is written whole or not at all, and a file
 * nrr did not write is never replaced (src/workspace/owned-files.ts).
 */

/** The folder inside a data folder that holds the Stripe objects and settings. */
export const STRIPE_DIR = 'stripe';
export const OBJECTS_FILE = 'objects.jsonl';
export const SETTINGS_FILE = 'settings.json';

export function stripeDir(dataDir: string): string {
  return join(dataDir, STRIPE_DIR);
}

/** The Stripe settings kept in a data folder (defaults when none). */
export function readStripeSettings(dataDir: string): StripeSettings {
  const path = join(stripeDir(dataDir), SETTINGS_FILE);
  if (!existsSync(path)) return stripeSettingsSchema.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new NrrError(`cannot read ${path}: ${e instanceof SyntaxError ? `not JSON: ${e.message}` : fsErrorText(e)}`);
  }
  const parsed = stripeSettingsSchema.safeParse(raw);
  if (!parsed.success) throw new NrrError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The mapping settings of a data folder: its Stripe settings and the workspace's time zone. */
export function mappingSettings(dataDir: string, configPath: string | undefined, settings: StripeSettings, now?: number): StripeMappingSettings {
  const config = loadConfig(findConfigFile(configPath, dataDir));
  return {
    timezone: config.policies.timezone,
    profile: settings.profile,
    accountMetadataKey: settings.account_metadata_key,
    includeTestMode: settings.include_test_mode,
    now,
  };
}

/**
 * The Stripe settings in force for a data folder: those recorded by its last import, then the
 * config's `stripe:` section, then `flags` (an import's). A flag contradicting the config is an error.
 */
export function effectiveStripeSettings(dataDir: string, configPath: string | undefined, flags: Partial<StripeSettings> = {}): StripeSettings {
  const path = findConfigFile(configPath, dataDir);
  const resolved = resolveStripeSettings(readStripeSettings(dataDir), loadConfig(path).stripe, path, flags);
  if ('error' in resolved) throw new NrrError(resolved.error);
  return resolved.settings;
}

/**
 * The settings the folder's contract files were mapped with, refusing when the config has since
 * changed them: a webhook mapping one customer with the new settings beside rows mapped with the
 * old ones would mix two mappings. `nrr stripe import --data DIR` maps the kept objects again.
 */
export function mappedStripeSettings(dataDir: string, configPath: string | undefined): StripeSettings {
  const recorded = readStripeSettings(dataDir);
  const differences = mappingDifferences(recorded, effectiveStripeSettings(dataDir, configPath));
  if (differences.length > 0 && existsSync(join(stripeDir(dataDir), SETTINGS_FILE))) {
    throw new NrrError(
      `the config's Stripe settings differ from those ${dataDir}'s Stripe data was mapped with (${differences.join('; ')}): run \`nrr stripe import --data ${dataDir}\` to map the kept objects again`,
    );
  }
  return recorded;
}

/** The raw objects kept in a data folder, or an empty collection. */
export async function readKeptObjects(dataDir: string): Promise<StripeObjects> {
  const path = join(stripeDir(dataDir), OBJECTS_FILE);
  return existsSync(path) ? readStripeObjects(path) : emptyStripeObjects();
}

export interface ImportOptions {
  readonly data: string;
  /** A file or folder of Stripe objects; without one, the kept objects are mapped again (after a change of settings). */
  readonly path?: string;
  readonly config?: string;
  /** Settings changed from those kept in the folder. */
  readonly settings?: Partial<StripeSettings>;
  /** Start from the objects in `path` alone, forgetting those kept from earlier imports. */
  readonly replace?: boolean;
  /** Replace contract files nrr did not write. */
  readonly force?: boolean;
  /** "Now" for schedules (Unix seconds); default the clock. */
  readonly now?: number;
}

export interface ImportResult {
  readonly objects: Record<StripeType, number>;
  /** Objects of other types in the input, by type (not kept). */
  readonly skipped: Record<string, number>;
  readonly accounts: number;
  readonly lines: number;
  readonly usage_rows: number;
  readonly currencies: string[];
  readonly files: string[];
  readonly settings: StripeSettings;
  readonly warnings: string[];
  /** Wall-clock seconds of each step, and the CPU seconds (user + system) of the whole import in this process. */
  readonly seconds: { readonly read: number; readonly map: number; readonly write: number; readonly cpu: number };
}

const CONTRACT = ['accounts', 'subscriptions', 'usage'] as const;

/** Refuses when the folder holds another file for a source this import writes (`subscriptions.parquet`). */
function checkNoOtherForms(dir: string): void {
  if (!existsSync(dir)) return;
  const clash = readdirSync(dir).filter((f) => {
    const stem = basename(f, extname(f));
    return (CONTRACT as readonly string[]).includes(stem) && extname(f).toLowerCase() !== '.csv' && !f.startsWith('.');
  });
  if (clash.length > 0) {
    throw new NrrError(`${dir} holds ${clash.join(', ')}; the import writes ${CONTRACT.map((c) => `${c}.csv`).join(', ')}, and a folder keeps one file per source: move ${clash.length === 1 ? 'it' : 'them'} away first`);
  }
}

const needsQuote = /[",\n\r]/;
function cell(v: string | null | undefined): string {
  if (v === null || v === undefined) return '';
  return needsQuote.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

/** The CSV text of rows, a line at a time (a large import never builds one string). */
function* csvLines(columns: readonly string[], rows: readonly Readonly<Record<string, string | null>>[]): Generator<string> {
  yield columns.map(cell).join(',') + '\n';
  for (const r of rows) yield columns.map((c) => cell(r[c])).join(',') + '\n';
}

/** The kept objects as JSON lines, each with the version it was kept at. */
function* objectLines(objects: StripeObjects): Generator<string> {
  for (const { version, object, text } of allStripeObjects(objects)) yield `{"version":${version},"object":${text ?? JSON.stringify(object)}}\n`;
}

/**
 * Adds objects to those kept in a data folder (stripe/objects.jsonl), one line each, as a webhook or a
 * sync receives them; a later read keeps the newest copy of each (see `addStripeObject`). Refuses a
 * file nrr did not write.
 * @example appendKeptObjects('my-data', [{ version: event.created, object: event.data.object }])
 */
export function appendKeptObjects(dataDir: string, entries: readonly { readonly version: number; readonly object: unknown }[]): void {
  const dir = stripeDir(dataDir);
  const path = join(dir, OBJECTS_FILE);
  try {
    mkdirSync(dir, { recursive: true });
    if (existsSync(path) && foreignFiles(dir, [OBJECTS_FILE]).length > 0) throw new NrrError(`refusing to add to ${path}: nrr did not write it (or it changed since)`);
    appendFileSync(path, entries.map((e) => `{"version":${e.version},"object":${JSON.stringify(e.object)}}\n`).join(''));
  } catch (e) {
    if (e instanceof NrrError) throw e;
    throw new NrrError(`cannot write ${path}: ${fsErrorText(e)}`);
  }
  recordWritten(dir, [OBJECTS_FILE]);
}

/** Writes every object of `objects` as the folder's kept objects, whole (a compaction of the appended lines). */
export async function writeKeptObjects(dataDir: string, objects: StripeObjects, force = false): Promise<void> {
  mkdirSync(stripeDir(dataDir), { recursive: true });
  await writeFileWhole(join(stripeDir(dataDir), OBJECTS_FILE), objectLines(objects), { force });
}

/** Writes mapped rows as the folder's contract files (refusing files nrr did not write unless `force`). */
export async function writeContractFiles(dir: string, rows: ContractRows, force = false): Promise<string[]> {
  checkNoOtherForms(dir);
  const meta = new Set<string>();
  for (const a of rows.accounts) for (const k of Object.keys(a)) if (!(ACCOUNT_COLUMNS as readonly string[]).includes(k)) meta.add(k);
  const files: [string, readonly string[], readonly Readonly<Record<string, string | null>>[]][] = [
    ['accounts.csv', [...ACCOUNT_COLUMNS, ...[...meta].sort()], rows.accounts],
    ['subscriptions.csv', SUBSCRIPTION_COLUMNS, rows.subscriptions as unknown as Readonly<Record<string, string | null>>[]],
    ['usage.csv', USAGE_COLUMNS, rows.usage as unknown as Readonly<Record<string, string | null>>[]],
  ];
  // Every target is checked before any is written, so a refusal leaves the folder as it was.
  for (const [name] of files) checkOutputPath(join(dir, name), { force });
  for (const [name, columns, data] of files) await writeFileWhole(join(dir, name), csvLines(columns, data), { force });
  return files.map(([n]) => n);
}

/**
 * Reads the objects at `path` (on top of those kept in the folder unless `replace`), maps them and
 * writes the contract files, the raw objects and the settings.
 */
export async function importStripe(o: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  try {
    mkdirSync(stripeDir(o.data), { recursive: true });
  } catch (e) {
    throw new NrrError(`cannot create ${stripeDir(o.data)}: ${fsErrorText(e)}`);
  }
  const settings = effectiveStripeSettings(o.data, o.config, o.settings);
  if (o.path === undefined && (o.replace || !existsSync(join(stripeDir(o.data), OBJECTS_FILE)))) {
    throw new NrrError(`nothing to map: ${o.replace ? '--replace forgets the kept objects' : `${join(stripeDir(o.data), OBJECTS_FILE)} does not exist`}; give a file or folder of Stripe objects`);
  }
  const objects = o.replace ? emptyStripeObjects() : await readKeptObjects(o.data);
  if (o.path !== undefined) await readStripeObjects(o.path, objects);
  const t1 = performance.now();
  const rows = mapStripe(objects, mappingSettings(o.data, o.config, settings, o.now));
  const t2 = performance.now();
  const dir = stripeDir(o.data);
  for (const f of [OBJECTS_FILE, SETTINGS_FILE]) checkOutputPath(join(dir, f), { force: o.force });
  const files = await writeContractFiles(o.data, rows, o.force);
  await writeKeptObjects(o.data, objects, o.force);
  await writeFileWhole(join(dir, SETTINGS_FILE), JSON.stringify(settings, null, 2) + '\n', { force: o.force });
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return {
    objects: countStripeObjects(objects),
    skipped: Object.fromEntries(objects.skipped),
    accounts: rows.accounts.length,
    lines: rows.subscriptions.length,
    usage_rows: rows.usage.length,
    currencies: [...new Set([...rows.subscriptions.map((r) => r.currency), ...rows.usage.map((r) => r.currency)])].sort(),
    files: [...files, join(STRIPE_DIR, OBJECTS_FILE), join(STRIPE_DIR, SETTINGS_FILE)],
    settings,
    warnings: rows.warnings,
    seconds: { read: (t1 - t0) / 1000, map: (t2 - t1) / 1000, write: (t3 - t2) / 1000, cpu: (cpu.user + cpu.system) / 1e6 },
  };
}

export type { StripeProfileName };
