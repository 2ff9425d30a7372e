// The plausibility marks of a metrics row: a small group (the workspace's min_group_accounts
// policy, decided on the server), an NRR outside its window's plausible range.
import { esc } from '../dom.js';
import { currentSummary } from '../session.js';

export function flags(m: { small_group?: boolean; nrr_plausible?: boolean }): string {
  const min = currentSummary().policies.min_group_accounts;
  const out: string[] = [];
  if (m.small_group) out.push(`<span class="warn-text" data-flag="small_group" title="fewer than ${esc(min)} starting accounts: one account moves the figure">⚠ small group</span>`);
  if (m.nrr_plausible === false) out.push(`<span class="warn-text" data-flag="implausible" title="outside the plausible range for this window: check the data (lines never ended?) before using it">⚠ implausible</span>`);
  return out.join(' ');
}
