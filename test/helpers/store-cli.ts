import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The built CLI run as a user runs it, for the tests of a workspace store in a warehouse
 * (warehouse-store, clickhouse-store): the same questions, the same appended line, the same day.
 */

const BIN = join(process.cwd(), 'dist/cli/nrr.js');
/** examples/acme pins as_of 2025-12; a fixed day keeps every run alike. */
const ENV = { ...process.env, NRR_TODAY: '2026-01-15' };

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `nrr args` (killed with -9 it exits 137); `started` gets the process id as soon as there is one. */
export function nrr(args: readonly string[], started?: (pid: number) => void, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...ENV, ...env } });
    if (child.pid !== undefined) started?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : -1), stdout, stderr }));
  });
}

/** The questions compared with --no-store: every command that answers from the store, JSON and CSV. */
export const QUESTIONS: readonly (readonly string[])[] = [
  ['metrics', '--format', 'json'],
  ['metrics', '--by', 'segment', '--window', '3', '--format', 'json'],
  ['movements', '--format', 'csv'],
  ['mrr', '--by-product', '--format', 'csv'],
];

/** A new monthly line of 1,234.56 USD from March 2025 for ACC-0001, an account of the cohort a year before December 2025. */
export const NEW_LINE = 'ACC-0001,L-09999,platform,2025-03-01,,1234.56,monthly,,USD\n';

/** A figure of the metrics JSON as its exact text (no float on the way). */
export const figure = (json: string, key: string): string | undefined => new RegExp(`"${key}": (-?[0-9.]+)`).exec(json)?.[1];
