import type { MiddlewareHandler } from 'hono';

/**
 * A `Server-Timing` header on every answer it wraps: `app` is the wall time the server spent
 * computing the answer (before it is compressed and sent), `cpu` the process's CPU time (user +
 * system, every thread) over that time. The CPU includes whatever else ran meanwhile (another
 * request, the background scoring or forecast), so it is an upper bound for the answer alone; on
 * an idle server it is the answer's own. The browser shows both in its network panel, and
 * scripts/dashboard-page-timings.mjs prints them beside each page's time, so the server's time can be
 * told apart from the browser's drawing and from the machine's load.
 * @example app.use('/api/*', serverTiming()); // Server-Timing: app;dur=12.3, cpu;dur=10.1
 */
export function serverTiming(): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await next();
    const cpu = process.cpuUsage(cpu0);
    c.res.headers.set('server-timing', serverTimingHeader(performance.now() - t0, (cpu.user + cpu.system) / 1000));
  };
}

/** The header's text for a wall time and a CPU time in milliseconds. */
export function serverTimingHeader(wallMs: number, cpuMs: number): string {
  return `app;dur=${wallMs.toFixed(1)}, cpu;dur=${cpuMs.toFixed(1)}`;
}
