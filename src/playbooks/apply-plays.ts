import { existsSync } from 'node:fs';
import { isLosslessNumber } from 'lossless-json';
import { defaultSnapshot } from '../accounts/account-records.js';
import type { ApplyResult, IngestBatch } from '../store/apply-batch.js';
import type { Workspace } from '../workspace/workspace.js';
import { statePath } from './playbook-settings.js';
import { runPlaysOfAccounts, type RunEffects } from './run-playbooks.js';

/**
 * The plays of the accounts an ingested change touched, evaluated again once the change is
 * committed (`LiveWorkspace.apply`, `POST /api/ingest/<source>`): those accounts that now qualify
 * enter their play and get a task, those that no longer do leave it, exactly as a scheduled run
 * (`nrr playbooks run`) would decide for them: the same de-duplication, cooldowns, yearly limits,
 * owners' daily budgets (counted over every account), recording and delivery. Only those accounts
 * are scored; no other account enters or leaves.
 *
 * Each change is a run of its own, recorded under the run key `<day>/<rules version>/apply-<batch id>`:
 * a batch sent again with the same id is not applied again, so its plays are not evaluated again
 * either. A workspace that does not run plays (no play state yet: `nrr playbooks run` creates it)
 * gets null.
 */
export interface AppliedPlays {
  /** The day the plays were evaluated for (the workspace's live day). */
  readonly date: string;
  readonly run_key: string;
  /** The accounts evaluated (those the change touched). */
  readonly accounts: readonly string[];
  readonly opened: RunEffects['opened'];
  readonly closed: RunEffects['closed'];
  readonly delivered: RunEffects['delivered'];
  /**
   * Why the plays could not be evaluated (the change itself is applied all the same, and the next
   * scheduled run decides for these accounts); null when they were.
   */
  readonly error: string | null;
}

/** What `LiveWorkspace.apply` returns: the change applied, and what it did to the plays. */
export type LiveApplyResult = ApplyResult & { readonly plays: AppliedPlays | null };

/**
 * Evaluates again the plays of the accounts `result` touched, on the workspace `ws` that includes
 * the change; null when the workspace does not run plays.
 * @example const plays = await playsAfterApply(live.workspace, result, batch); plays?.opened.length
 */
export async function playsAfterApply(ws: Workspace, result: ApplyResult, batch: IngestBatch): Promise<AppliedPlays | null> {
  if (!existsSync(statePath(ws.dataDir, ws.scoring.playbookSettings))) return null;
  const date = defaultSnapshot(ws);
  const runKey = `${date}/${ws.scoring.playbookVersion}/apply-${result.batch_id}`;
  const accounts = result.already_applied ? [] : touchedAccounts(result, batch);
  const none = { date, run_key: runKey, accounts, opened: [], closed: [], delivered: [], error: null };
  if (accounts.length === 0) return none;
  try {
    const r = await runPlaysOfAccounts(ws, accounts, { date, runKey });
    return { ...none, opened: r.effects.opened, closed: r.effects.closed, delivered: r.effects.delivered };
  } catch (e) {
    return { ...none, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The accounts a change touched: those the store says it changed (of its rows, and of the rows it
 * replaced or withdrew), and any account its rows and withdrawals name.
 */
export function touchedAccounts(result: ApplyResult, batch: IngestBatch): string[] {
  const out = new Set(result.accounts);
  for (const item of [...(batch.rows ?? []), ...(batch.withdraw ?? [])]) {
    const v = item['account_id'];
    const id = typeof v === 'string' ? v.trim() : typeof v === 'number' || isLosslessNumber(v) ? String(v) : '';
    if (id !== '') out.add(id);
  }
  return [...out].sort();
}
