import { NrrError } from '../errors.js';

export interface ValidationIssue {
  readonly source: string;
  readonly file: string;
  readonly row: number;
  /** A table's row named by its key columns (`account_id 'A1', line_id 'L7'`): a table has no line numbers. */
  readonly key?: string;
  readonly column: string;
  readonly value: string | null;
  readonly expected: string;
  readonly severity: 'error' | 'warning';
}

/** Characters a terminal would not show, or would act on: written as \uXXXX in messages. */
// Matching control characters is the point here.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u00A0\u200B-\u200D\u2060\uFEFF]/g;

/** A value as a message shows it: invisible and control characters as \uXXXX escapes. */
export function visibleValue(value: string): string {
  return value.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/** A row of `validation_issues` as an issue. */
export function issueOf(r: Record<string, unknown>): ValidationIssue {
  return {
    source: String(r['source']),
    file: String(r['file']),
    row: Number(r['row']),
    ...(typeof r['row_key'] === 'string' ? { key: r['row_key'] } : {}),
    column: String(r['column']),
    value: r['value'] === null || r['value'] === undefined ? null : String(r['value']),
    expected: String(r['expected']),
    severity: r['severity'] === 'error' ? 'error' : 'warning',
  };
}

export function formatIssue(i: ValidationIssue): string {
  const value = i.value === null || i.value === '' ? '(empty)' : `'${visibleValue(i.value)}'`;
  return `${i.file} row ${i.row}${i.key === undefined ? '' : ` (${visibleValue(i.key)})`}, column ${i.column}: ${value}: expected ${i.expected}`;
}

/** Thrown when input is invalid and the caller did not ask to skip bad rows. */
export class ValidationError extends NrrError {
  override name = 'ValidationError';
  constructor(
    readonly issues: readonly ValidationIssue[],
    readonly errorCount: number,
    /** What was refused, and what to do: a batch ingested is refused whole, with nothing to skip. */
    wording: { readonly what: string; readonly next: string } = {
      what: 'the input',
      next: 'Fix the rows, or run with --skip-invalid to set them aside in a rejects file and go on.',
    },
  ) {
    const shown = issues.map((i) => `  ${formatIssue(i)}`).join('\n');
    const more = errorCount > issues.length ? `\n  … and ${errorCount - issues.length} more` : '';
    const done = wording.what === 'the input' ? 'nothing was computed' : 'nothing of it was applied';
    super(`${wording.what} has ${errorCount} invalid value${errorCount === 1 ? '' : 's'}; ${done}:\n${shown}${more}\n${wording.next}`);
  }
}
