import { OPEN_END } from '../contract/data-contract.js';
import { monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { movements, mrrLedger, type MovementRow, type MrrRow } from './ledger-queries.js';

export interface SourceLine {
  readonly source: 'line' | 'usage';
  /** line_id, or 'usage row N'. */
  readonly id: string;
  /** Row in the source file. */
  readonly row: number;
  readonly product: string;
  readonly currency: string;
  /** First and last month the line counts in MRR (null when it never does at a snapshot). */
  readonly first_month: string | null;
  readonly last_month: string | null;
  readonly mrr_local: Money;
  /** Monthly value in reporting currency (at the start rate, or in its own currency with monthly FX). */
  readonly mrr: Money;
}

export interface MovementCause extends MovementRow {
  /** The lines that started or ended in this month: the movement's sources. */
  readonly lines: readonly { id: string; effect: 'started' | 'ended'; product: string; mrr: Money }[];
}

/** A usage charge that is not MRR: in a month outside every contract line of its account. */
export interface UsageSetAsideRow {
  /** Row in the usage file. */
  readonly row: number;
  readonly product: string;
  readonly month: string;
  readonly currency: string;
  readonly amount_local: Money;
  /** In the reporting currency, at the rate of its month. */
  readonly amount: Money;
}

export interface AccountExplanation {
  readonly account_id: string;
  readonly attributes: Record<string, string | null>;
  readonly lines: readonly SourceLine[];
  readonly usage_set_aside: readonly UsageSetAsideRow[];
  readonly history: readonly MrrRow[];
  readonly movements: readonly MovementCause[];
}

/**
 * An account's MRR history, its movements and the lines behind each.
 * @example (await explainAccount(ws, 'A7')).movements[1].lines // [{ id: 'A7-addon', effect: 'ended', … }]
 */
export async function explainAccount(ws: Workspace, accountId: string): Promise<AccountExplanation> {
  const d = ws.driver.dialect;
  const id = d.quoteString(accountId);
  const exists = await ws.query(`SELECT 1 FROM lines WHERE account_id = ${id} UNION ALL SELECT 1 FROM usage_charges WHERE account_id = ${id} LIMIT 1`);
  if (exists.length === 0) {
    const like = await ws.query(
      `SELECT DISTINCT account_id FROM lines ORDER BY jaro_winkler_similarity(lower(account_id), lower(${id})) DESC LIMIT 3`,
    );
    throw new NrrError(`account '${accountId}' has no lines in the data; closest: ${like.map((r) => String(r['account_id'])).join(', ')}`);
  }
  const attrs = await ws.query(`SELECT * FROM accounts WHERE account_id = ${id}`);
  const lineRows = await ws.query(`
    SELECT 'line' AS source, l.line_id AS id, l.row_no, l.product, l.currency, c.from_month, c.to_month, l.mrr_local, c.value
    FROM lines l LEFT JOIN mrr_contributions c ON c.source = 'line' AND c.row_no = l.row_no
    WHERE l.account_id = ${id}
    UNION ALL
    SELECT 'usage', 'usage row ' || u.row_no, u.row_no, u.product, u.currency, c.from_month, c.to_month, u.amount_local, c.value
    FROM usage_charges u JOIN mrr_contributions c ON c.source = 'usage' AND c.row_no = u.row_no
    WHERE u.account_id = ${id}
    ORDER BY from_month NULLS LAST, id`);
  const lines: SourceLine[] = lineRows.map((r) => ({
    source: r['source'] as 'line' | 'usage',
    id: String(r['id']),
    row: Number(r['row_no']),
    product: String(r['product']),
    currency: String(r['currency']),
    first_month: r['from_month'] === null ? null : monthText(Number(r['from_month'])),
    last_month:
      r['to_month'] === null ? null : Number(r['to_month']) >= OPEN_END ? 'open-ended' : monthText(Number(r['to_month']) - 1),
    mrr_local: Money.from(r['mrr_local']),
    mrr: Money.from(r['value'] ?? '0'),
  }));
  const causes = await ws.query(`
    SELECT c.month_index, coalesce(l.line_id, 'usage row ' || m.row_no) AS source_id,
           CASE WHEN m.from_month = c.month_index THEN 'started' ELSE 'ended' END AS effect, m.product, m.value
    FROM account_changes c JOIN mrr_contributions m
      ON m.account_id = c.account_id AND (m.from_month = c.month_index OR m.to_month = c.month_index)
    LEFT JOIN lines l ON m.source = 'line' AND l.row_no = m.row_no
    WHERE c.account_id = ${id} ORDER BY c.month_index, effect DESC, source_id`);
  const setAside = await ws.query(
    `SELECT row_no, product, month_index, currency, amount_local, amount FROM usage_set_aside WHERE account_id = ${id} ORDER BY month_index, row_no`,
  );
  const moves = await movements(ws, { account: accountId });
  const first = attrs[0] ?? {};
  return {
    account_id: accountId,
    attributes: Object.fromEntries(
      Object.entries(first)
        .filter(([k]) => k !== 'account_id')
        .map(([k, v]) => [k, v === null ? null : String(v)]),
    ),
    lines,
    usage_set_aside: setAside.map((r) => ({
      row: Number(r['row_no']),
      product: String(r['product']),
      month: monthText(Number(r['month_index'])),
      currency: String(r['currency']),
      amount_local: Money.from(r['amount_local']),
      amount: Money.from(r['amount']),
    })),
    history: await mrrLedger(ws, { account: accountId }),
    movements: moves.map((m) => ({
      ...m,
      lines: causes
        .filter((c) => monthText(Number(c['month_index'])) === m.month)
        .map((c) => ({
          id: String(c['source_id']),
          effect: c['effect'] as 'started' | 'ended',
          product: String(c['product']),
          mrr: Money.from(c['value']),
        })),
    })),
  };
}
