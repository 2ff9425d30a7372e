// A task as the API sends it: /api/tasks rows name their fields id/play/due (docs/api.md), the
// account detail's tasks task_id/playbook/due_date; these read either.
import type { Task } from './api-types.js';

export const taskId = (t: Task): number => (t.id ?? t.task_id)!;
export const taskPlay = (t: Task): string => t.play ?? t.playbook ?? '';
export const taskDue = (t: Task): string => t.due ?? t.due_date ?? '';
/** Notes as text lines ("2026-12-01 called the sponsor"). */
export function taskNotes(t: Task): string[] {
  const raw: unknown = t.notes ?? [];
  const notes = (typeof raw === 'string' ? raw.split('\n').filter(Boolean) : (raw as NonNullable<Task['notes']>)) as readonly (string | { text: string; on?: string; at?: string })[];
  const out = notes.map((n) => (typeof n === 'string' ? n : `${n.on ?? n.at ?? ''} ${n.text}`.trim()));
  const single = (t as { note?: string | null }).note;
  if (!out.length && single) out.push(single);
  return out;
}
