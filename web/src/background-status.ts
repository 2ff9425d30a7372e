// What a part of a page waits for on the server, said in its place while it waits: after a second,
// the server's background work (GET /api/status: scoring every account, the report, each forecast)
// with how long each has run, refreshed every two seconds until the part is drawn.
import { get } from './api-client.js';
import type { BackgroundJob } from './api-types.js';

/** The running jobs in words: "scoring every account (running 42 s); the 90-day forecast (running 30 s)". */
export function runningJobsText(jobs: readonly BackgroundJob[]): string {
  return jobs
    .filter((j) => j.status === 'running')
    .map((j) => `${j.what} (running ${Math.round(j.seconds)} s)`)
    .join('; ');
}

/** The note of a part still waiting: what it waits for, for how long, and what the server is busy with. */
export function waitingText(waitingFor: string, seconds: number, jobs: readonly BackgroundJob[]): string {
  const busy = runningJobsText(jobs);
  return `${waitingFor} (${Math.round(seconds)} s).${busy ? ` The server is working on: ${busy}.` : ''}`;
}

/**
 * Writes into `el`, while `done` is pending and `el` is on the page, what it waits for and what
 * the server is busy with (from the second second on). Nothing is written when `done` comes first.
 */
export function sayWhileWaiting(el: HTMLElement, waitingFor: string, done: Promise<unknown>): void {
  const t0 = performance.now();
  let pending = true;
  const stop = () => (pending = false);
  done.then(stop, stop);
  const tick = async (): Promise<void> => {
    if (!pending || !el.isConnected) return;
    let jobs: BackgroundJob[] = [];
    try {
      jobs = (await get<{ jobs: BackgroundJob[] }>('/api/status')).jobs;
    } catch {
      // An older server without /api/status: say only what is awaited.
    }
    if (!pending || !el.isConnected) return;
    el.textContent = waitingText(waitingFor, (performance.now() - t0) / 1000, jobs);
    el.dataset['waiting'] = 'true';
    setTimeout(() => void tick(), 2000);
  };
  setTimeout(() => void tick(), 1000);
}
