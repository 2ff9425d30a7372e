import { z } from 'zod';
import { TASK_OUTCOMES, type PlaybookState, type Task } from '../playbooks/playbook-state.js';
import { hostName } from './http-security.js';

/**
 * The actions the API takes on a task (POST /api/tasks/:id/<action>), each with the JSON body it
 * takes and what it does to the play state: the same methods `nrr tasks done|snooze|reassign|note` call.
 */
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD').refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), 'expected a day of the calendar');

export const TASK_ACTIONS = {
  done: {
    body: z.object({ outcome: z.enum(TASK_OUTCOMES), note: z.string().max(2000).optional() }).strict(),
    run: (s: PlaybookState, id: number, b: { outcome: (typeof TASK_OUTCOMES)[number]; note?: string }, on: string): Promise<Task> => s.closeTask(id, b.outcome, b.note, on),
    example: '{"outcome": "won", "note": "signed 20 more seats"}',
  },
  snooze: {
    body: z.object({ until: day }).strict(),
    run: (s: PlaybookState, id: number, b: { until: string }, on: string): Promise<Task> => s.snoozeTask(id, b.until, on),
    example: '{"until": "2026-07-15"}',
  },
  reassign: {
    body: z.object({ owner: z.string().trim().min(1, 'expected a name').max(200) }).strict(),
    run: (s: PlaybookState, id: number, b: { owner: string }, on: string): Promise<Task> => s.reassignTask(id, b.owner, on),
    example: '{"owner": "Sam Lee"}',
  },
  note: {
    body: z.object({ text: z.string().trim().min(1, 'expected some text').max(2000) }).strict(),
    run: (s: PlaybookState, id: number, b: { text: string }, on: string): Promise<Task> => s.noteTask(id, b.text, on),
    example: '{"text": "called; renewal call booked"}',
  },
} as const;

export type TaskActionName = keyof typeof TASK_ACTIONS;

/**
 * Whether a write without a token may be taken: a browser page of another site can send a POST to
 * 127.0.0.1, so the request must be JSON (a cross-site page cannot send that without a CORS
 * preflight, which this server never grants) and, when the browser names its origin, come from
 * the page's own host. Null when it may, else why not.
 */
export function tokenlessWriteRefusal(contentType: string | undefined, origin: string | undefined, host: string | undefined): string | null {
  if (!/^application\/json\b/i.test(contentType ?? '')) return 'send the body as JSON (Content-Type: application/json)';
  if (origin !== undefined && origin !== 'null') {
    let originHost: string | null;
    try {
      originHost = hostName(new URL(origin).host);
    } catch {
      originHost = null;
    }
    if (originHost === null || host === undefined || originHost !== hostName(host)) return `a page of ${origin} may not change tasks here`;
  } else if (origin === 'null') return 'a page of an opaque origin may not change tasks here';
  return null;
}
