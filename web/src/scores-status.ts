// While the server is still scoring every account (minutes at 100,000 accounts), Renewals and Book
// answer from the contract lines alone: their at-risk figures are not known yet. They say so, and
// show "scoring…" in place of those figures, never $0.00. A Book of a past month has no scores
// (they are kept for the server's day): its at-risk figures read "not scored", with the reason.
import type { Money, ScoresStatus } from './api-types.js';
import { esc } from './dom.js';
import { money } from './format.js';

/** True while the at-risk figures are not known (yet, or for this day). */
export function scoring(s: ScoresStatus | undefined): boolean {
  return s?.status === 'computing' || s?.status === 'unscored';
}

/** The notice above the page while the scores are being computed; empty once they are there. */
export function scoresNotice(s: ScoresStatus | undefined): string {
  if (s?.status === 'unscored') return `<div class="notice company-wide" data-scores-status="unscored">At-risk figures not known for this day: ${esc(s.note ?? 'the accounts are not scored')}.</div>`;
  return scoring(s) ? `<div class="notice company-wide" data-scores-status="computing">Not known yet: ${esc(s!.note ?? 'every account is being scored')}. Reload in a while.</div>` : '';
}

/** An at-risk amount, or "scoring…" while it is not known. */
export function atRiskMoney(s: ScoresStatus | undefined, amount: Money, compact = false): string {
  if (s?.status === 'unscored') return '<span class="muted" data-not-known>not scored</span>';
  return scoring(s) ? '<span class="muted" data-not-known>scoring…</span>' : money(amount, compact);
}
