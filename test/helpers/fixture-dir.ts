import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A data file's content: CSV text as given, or rows (first row = header) joined as CSV. */
export type FileContent = string | readonly (readonly (string | number | null)[])[];

function toText(content: FileContent): string {
  if (typeof content === 'string') return content;
  const cell = (v: string | number | null): string => {
    if (v === null) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return content.map((row) => row.map(cell).join(',')).join('\n') + '\n';
}

/**
 * Writes the given files (name → content) into a fresh temporary folder and returns its path.
 * @example const dir = fixtureDir({ 'subscriptions.csv': [['account_id', 'start_date', 'amount'], ['X', '2024-01-01', 100]] });
 */
export function fixtureDir(files: Record<string, FileContent>, prefix = 'nrr-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), toText(content));
  return dir;
}

/** Removes a folder made by `fixtureDir`. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** CSV text from a header line and data lines, for tests that want the raw text visible. */
export function csv(...lines: string[]): string {
  return lines.join('\n') + '\n';
}
