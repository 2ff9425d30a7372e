import { createServer } from 'node:net';
import type { Command } from 'commander';
import { NrrError } from '../errors.js';
import { findConfigFile, loadConfig } from '../config/config-file.js';
import { checkTokenStrength, normaliseAllowedHost } from '../serve/http-security.js';
import type { LiveWorkspace } from '../store/live-workspace.js';
import type { Workspace } from '../workspace/workspace.js';
import { noLinesYet, open, openOptions, positiveInt, printDateWarnings, printRead, today, withDataOptions, type CommonOptions } from './common-options.js';
import { runEffectLines } from './effect-lines.js';
import { plural } from './plural-text.js';

export interface ServeCliOptions extends CommonOptions {
  port?: number;
  host?: string;
  allowHost?: string[];
  cacheMb?: number;
}

/**
 * Opens the workspace (with its signal files) unless one is given, serves it and waits until the
 * process is stopped; then closes it. With `runPlays` the plays are run for the reporting day
 * first (the demo, so every page has data).
 */
export async function serveWorkspace(o: ServeCliOptions, runPlays = false, opened?: Workspace): Promise<void> {
  const settings = loadConfig(findConfigFile(o.config, o.data)).serve;
  const tokenEnv = settings?.token_env ?? 'NRR_API_TOKEN';
  const token = process.env[tokenEnv] || undefined;
  if (token !== undefined) checkTokenStrength(token, tokenEnv);
  const allowedHosts = [...(settings?.allowed_hosts ?? []), ...(o.allowHost ?? [])];
  allowedHosts.forEach(normaliseAllowedHost);
  const port = o.port ?? settings?.port ?? 4317;
  const host = o.host ?? settings?.host ?? '127.0.0.1';
  // A port in use is said before any data file is read.
  if (!opened) await ensurePortFree(port, host);
  // The server and the live workspace are loaded here, not by every command. The server's modules
  // load while the store opens (its work runs on DuckDB's threads).
  const serverModule = import('../serve/start-server.js');
  serverModule.catch(() => undefined);
  const { LiveWorkspace } = await import('../store/live-workspace.js');
  const served = await liveOrStatic(o, opened, LiveWorkspace);
  const ws = served instanceof LiveWorkspace ? served.workspace : served;
  if (runPlays) {
    const { runPlaybooks } = await import('../playbooks/run-playbooks.js');
    const r = await runPlaybooks(ws, {});
    for (const line of runEffectLines(r, o.quiet ?? false)) process.stderr.write(`${line}\n`);
    if (!o.quiet) process.stderr.write(`playbooks: ${r.already_recorded ? 'already run' : 'ran'} for ${r.date}, ${plural(r.plays.reduce((s, p) => s + p.open_tasks, 0), 'open task')}\n`);
  }
  // Stripe's webhook endpoint (and its modules) only when served live: it reads the environment itself.
  const stripeWebhooks =
    served instanceof LiveWorkspace
      ? await (await import('../stripe/stripe-webhook-endpoint.js')).stripeWebhooksFromEnv(served, { config: o.config, now: () => Math.floor(today().getTime() / 1000) })
      : undefined;
  const { startServer } = await serverModule;
  const server = await startServer(served, {
    stripeWebhook: stripeWebhooks?.handle,
    port,
    host,
    token,
    allowedHosts,
    cacheBytes: Math.round((o.cacheMb ?? settings?.cache_mb ?? 64) * 1024 * 1024),
    onSync: (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`),
  });
  process.stdout.write(`\nDashboard: ${server.url}   (API: ${server.url}api/openapi.json${token ? `; token from ${tokenEnv}` : ''}) — Ctrl+C to stop\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      // A second signal stops at once: the store is consistent at every point (docs/store.md).
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`stopping: answers in flight get ${STOP_GRACE_MS / 1000} s to finish (a second Ctrl+C stops at once)\n`);
      // Background work (scoring every account, forecasts) is not waited for: it is kept nowhere
      // until it is done, so leaving it half-way loses nothing.
      setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
      void server.close().then(() => {
        served.close();
        resolve();
        // What still runs in the background would keep the process alive: it ends here.
        setImmediate(() => process.exit(0));
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** How long a stopping server lets the answers in flight finish before it exits anyway. */
const STOP_GRACE_MS = 5_000;

/**
 * What `serve` answers from: a live workspace on the store (it follows the files and takes
 * ingested changes), or, with --no-store or flags that change the model, one opened as any command
 * opens it. A workspace already opened (the demo's) is closed and opened live.
 */
async function liveOrStatic(o: ServeCliOptions, opened: Workspace | undefined, Live: typeof LiveWorkspace): Promise<Workspace | LiveWorkspace> {
  if (o.store === false) return opened ?? (await open(o, { signals: true }));
  // The store is taken for writing: this process's own reading of it ends first.
  opened?.close();
  let live: LiveWorkspace;
  try {
    live = await Live.open(openOptions(o, { signals: true }), { server: true });
  } catch (e) {
    if (!(e instanceof NrrError) || !/policies of its config/.test(e.message)) throw e;
    process.stderr.write(`note: ${e.message}; serving a fixed state that does not follow the files\n`);
    return open({ ...o, quiet: true }, { signals: true });
  }
  if (!opened) {
    if (live.workspace.summary.lines === 0) {
      live.close();
      throw new NrrError(noLinesYet(o.data));
    }
    if (!o.quiet) printRead(live.workspace);
    printDateWarnings(live.workspace);
  }
  return live;
}

/**
 * Fails with a clear error when `port` cannot be listened on at `host` (in use, or not allowed),
 * by listening on it for a moment.
 * @example await ensurePortFree(4317, '127.0.0.1')
 */
export async function ensurePortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new NrrError(
          e.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is already in use: stop what listens there, or pass --port (or serve.port in the config)`
            : `cannot listen on ${host}:${port}: ${e.code ?? e.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** The port and host `serve` would listen on, from the flags or the config. */
export function servePort(o: ServeCliOptions): { port: number; host: string } {
  const settings = loadConfig(findConfigFile(o.config, o.data)).serve;
  return { port: o.port ?? settings?.port ?? 4317, host: o.host ?? settings?.host ?? '127.0.0.1' };
}

/** `nrr serve`. */
export function registerServe(program: Command): void {
  withDataOptions(program.command('serve').description('the dashboard and the JSON API for a data folder (docs/dashboard.md)'))
    .option('-p, --port <port>', 'port to listen on (default 4317, or serve.port in the config)', positiveInt)
    .option('--host <host>', 'address to listen on (default 127.0.0.1); anything but loopback needs a token')
    .option('--allow-host <name>', 'without a token, also answer requests addressed to this host name (repeatable; serve.allowed_hosts)', (v: string, all: string[] = []) => [...all, v])
    .option('--cache-mb <megabytes>', 'memory kept for API answers (default 64, or serve.cache_mb)', positiveInt)
    .addHelpText(
      'after',
      `
Pages: Overview, Segments, Cohorts, Accounts, Account, Playbooks. Each view's state is in its URL.
API: /api/metrics, /api/movements, /api/cohorts, /api/accounts, /api/accounts/ID, /api/tasks,
/api/playbooks; documented at /api/openapi.json.

Auth: when the environment variable NRR_API_TOKEN (or the one named by serve.token_env in the
config) is set, every /api request needs "Authorization: Bearer <token>" (a token has at least
16 characters; 10 wrong ones from an address in a minute get 429). Without a token the server
listens on loopback only and answers only requests addressed to localhost, 127.0.0.1 or [::1]
(plus --allow-host names); any other Host gets 421.

Examples:
  nrr serve --data demo
  NRR_API_TOKEN=$(openssl rand -hex 24) nrr serve --data my-data --host 0.0.0.0 --port 8080`,
    )
    .action((o: ServeCliOptions) => serveWorkspace(o));
}
