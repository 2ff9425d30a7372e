import { InvalidArgumentError, Option } from 'commander';
import type { AccountFilter } from '../engine/account-filter.js';

/** Parses one `KEY=VALUE` and adds it to the filter so far. */
function addCondition(v: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = v.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE (an account attribute and its value, e.g. segment=smb), got '${v}'`);
  const key = v.slice(0, at).trim();
  if ((previous ?? {})[key] !== undefined) throw new InvalidArgumentError(`'${key}' is given twice: one value per attribute`);
  return { ...(previous ?? {}), [key]: v.slice(at + 1) };
}

/**
 * `--where KEY=VALUE`, repeatable (all must hold): only the accounts whose attribute has the value.
 * Values: exact text, `(none)` for empty, `lo..hi` for a number range, `YYYY` or `YYYY-MM` for dates in
 * that year or month (see AccountFilter).
 */
export const whereOption = (): Option =>
  new Option('--where <KEY=VALUE>', 'only accounts whose attribute has this value (repeatable: all must hold); lo..hi for numbers, YYYY or YYYY-MM for dates').argParser(addCondition);

export type WhereOptions = { where?: AccountFilter };
