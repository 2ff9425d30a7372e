import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { NrrError } from '../errors.js';
import { processAlive } from '../process-alive.js';

/** How long a command waits for another process to let go of the store before it gives up. */
const WAIT_MS = 600_000;
const POLL_MS = 200;

/**
 * Takes the lock file `path` (made with O_EXCL: one process at a time), waiting while a live
 * process holds it; a file left by a process that is gone (killed) is taken over. Returns the
 * release. It holds the process id, the host and the time it was taken; a lock of another host
 * (a data folder on a network share) is never taken over, only waited for.
 */
export async function takeLockFile(path: string, what: string, waitMs = WAIT_MS): Promise<() => void> {
  const started = Date.now();
  const me = `${process.pid} ${hostname()} ${new Date().toISOString()}\n`;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          if (readFileSync(path, 'utf8') === me) unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new NrrError(`${path}: cannot make the lock file of ${what}: ${(e as Error).message}`);
    }
    let holder: string;
    try {
      holder = readFileSync(path, 'utf8');
    } catch {
      continue; // released meanwhile: try again at once
    }
    const [pid, host, since] = holder.trim().split(' ');
    if (host === hostname() && pid !== undefined && /^[0-9]+$/.test(pid) && !processAlive(Number(pid))) {
      // Left by a process that is gone: taken over. Two waiters may both see it; the engine's own
      // lock on its folder still admits only one of them (the other is told so).
      try {
        unlinkSync(path);
      } catch {
        // Another waiter took it over first.
      }
      continue;
    }
    if (Date.now() - started > waitMs) {
      throw new NrrError(
        `${what} is held by another process (${pid === undefined ? 'unknown' : `pid ${pid}`}${host === undefined ? '' : ` on ${host}`}${since === undefined ? '' : ` since ${since}`}), waited ${Math.round(waitMs / 1000)} s: try again when it is done (or, if no nrr runs, delete ${path})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
