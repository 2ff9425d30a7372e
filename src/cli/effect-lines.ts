import type { RunResult } from '../playbooks/run-playbooks.js';
import { plural } from './plural-text.js';

/**
 * The side effects of a run of the plays, said on standard error: one line per task opened or
 * closed and per destination delivered to; with `quiet`, one line of totals. Nothing a run does
 * goes unsaid.
 */
export function runEffectLines(r: RunResult, quiet: boolean): string[] {
  const e = r.effects;
  const sent = (d: RunResult['effects']['delivered'][number]): string =>
    d.type === 'outbox' ? `wrote ${plural(d.count, 'line')} to outbox ${d.file} (${d.destination})` : `sent ${plural(d.count, 'event')} to ${d.type} ${d.destination}`;
  if (quiet) {
    const parts = [`opened ${plural(e.opened.length, 'task')}`, `closed ${plural(e.closed.length, 'task')}`, ...e.delivered.map(sent)];
    return [`playbooks ${r.date}: ${parts.join(', ')}${r.already_recorded ? ' (run already recorded)' : ''}`];
  }
  return [
    ...(r.already_recorded ? [`run ${r.run_key} already recorded: no task opened or closed`] : []),
    ...e.opened.map((t) => `opened task ${t.task_id}: ${t.playbook}, ${t.account_id}, for ${t.owner}`),
    ...e.closed.map((t) => `closed task ${t.task_id}: ${t.playbook}, ${t.account_id}, exited the play`),
    ...e.delivered.map(sent),
  ];
}
