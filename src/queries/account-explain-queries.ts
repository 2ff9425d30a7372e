import { monthIndex } from '../engine/months.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { explainAccount, type MovementCause, type SourceLine, type UsageSetAsideRow } from './explain-queries.js';

/** A source line with the file it was read from: the row a figure comes from. */
export type FileLine = SourceLine & { readonly file: string | null };

/** What `nrr explain` shows of an account, narrowed to one month when asked. */
export interface MonthExplanation {
  readonly account_id: string;
  /** The month asked for, or null for the account's whole history. */
  readonly month: string | null;
  readonly attributes: Record<string, string | null>;
  /** The account's MRR at the month's snapshot (at the reporting month without one). */
  readonly mrr: Money;
  /** The movements (of the month, or all) with the lines that started or ended in each. */
  readonly movements: readonly MovementCause[];
  /** The lines and usage rows in force in the month or behind its movements (all without a month), with file and row. */
  readonly lines: readonly FileLine[];
  readonly usage_set_aside: readonly UsageSetAsideRow[];
}

/**
 * An account's movements and the file rows behind them, for one month or every month; an NrrError
 * (naming the closest ids) when the account has no lines.
 * @example (await explainMonth(ws, 'A7', '2024-07')).movements[0].lines // [{ id: 'A7-addon', effect: 'ended', … }]
 */
export async function explainMonth(ws: Workspace, accountId: string, month?: string): Promise<MonthExplanation> {
  const x = await explainAccount(ws, accountId);
  const fileOf = (source: 'line' | 'usage'): string | null =>
    ws.summary.sources.find((s) => s.source === (source === 'line' ? 'subscriptions' : 'usage'))?.file ?? null;
  const withFile = (l: SourceLine): FileLine => ({ ...l, file: fileOf(l.source) });
  const at = month ?? x.history.at(-1)?.month ?? null;
  const mrr = x.history.find((h) => h.month === at)?.mrr ?? Money.zero;
  if (month === undefined) {
    return { account_id: x.account_id, month: null, attributes: x.attributes, mrr, movements: x.movements, lines: x.lines.map(withFile), usage_set_aside: x.usage_set_aside };
  }
  const m = monthIndex(month);
  const movements = x.movements.filter((v) => v.month === month);
  const moved = new Set(movements.flatMap((v) => v.lines.map((l) => l.id)));
  const inForce = (l: SourceLine): boolean =>
    l.first_month !== null && monthIndex(l.first_month) <= m && (l.last_month === 'open-ended' || (l.last_month !== null && m <= monthIndex(l.last_month)));
  return {
    account_id: x.account_id,
    month,
    attributes: x.attributes,
    mrr,
    movements,
    lines: x.lines.filter((l) => inForce(l) || moved.has(l.id)).map(withFile),
    usage_set_aside: x.usage_set_aside.filter((u) => u.month === month),
  };
}
