// While the server is still scoring every account (minutes at 100,000 accounts), Renewals and Book
// answer from the contract lines alone: their at-risk figures are not known yet. They say so, and
// show "scoring…" in place of those figures, never $0.00.
import type { Money, ScoresStatus } from './api-types.js';
import { esc } from './dom.js';
import { money } from './format.js';

/** True while the at-risk figures are not known yet. */
export function scoring(s: ScoresStatus | undefined): boolean {
  return s?.status === 'computing';
}

/** The notice above the page while the scores are being computed; empty once they are there. */
export function scoresNotice(s: ScoresStatus | undefined): string {
  return scoring(s) ? `<div class="notice company-wide" data-scores-status="computing">Not known yet: ${esc(s!.note ?? 'every account is being scored')}. Reload in a while.</div>` : '';
}

/** An at-risk amount, or "scoring…" while it is not known. */
export function atRiskMoney(s: ScoresStatus | undefined, amount: Money, compact = false): string {
  return scoring(s) ? '<span class="muted" data-not-known>scoring…</span>' : money(amount, compact);
}
