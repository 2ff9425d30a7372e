import { existsSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import { defaultSnapshot } from '../accounts/account-records.js';
import { statePath } from '../playbooks/playbook-settings.js';
import { runPlaybooks } from '../playbooks/run-playbooks.js';
import { NrrError } from '../errors.js';
import { LiveWorkspace } from '../store/live-workspace.js';
import type { Workspace } from '../workspace/workspace.js';
import { AnswerCache } from './answer-cache.js';
import { DEFAULT_CACHE_BYTES, createApp, type AppOptions } from './api-app.js';
import { FailureLimiter } from './failure-limiter.js';
import { DEFAULT_ALLOWED_HOSTS, normaliseAllowedHost } from './http-security.js';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  /** Compute in the background, once started, what the pages ask for first (default true; tests that count queries turn it off). */
  readonly warmUp?: boolean;
  /** Needed to listen on anything but loopback; at least 16 characters. */
  readonly token?: string;
  /**
   * Without a token: host names answered besides localhost, 127.0.0.1, [::1] and the address
   * listened on (any port); requests addressed to any other name get a 421.
   */
  readonly allowedHosts?: readonly string[];
  /** Bytes of API answers kept in memory (default 64 MiB). */
  readonly cacheBytes?: number;
  /** A live workspace: how often its files are checked for changes (default every second). */
  readonly watchMs?: number;
  /** Told when the files changed and the store was updated, or when that failed. */
  readonly onSync?: (message: string) => void;
  /** POST /webhooks/stripe (a live workspace only). */
  readonly stripeWebhook?: AppOptions['stripeWebhook'];
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/**
 * Serves the API and the dashboard. Without a token it listens on loopback only: the data is a
 * company's revenue.
 * @example const s = await startServer(ws, { port: 4317, host: '127.0.0.1' }); console.log(s.url)
 */
export async function startServer(source: Workspace | LiveWorkspace, options: ServeOptions): Promise<RunningServer> {
  if (!options.token && !LOOPBACK.test(options.host)) {
    throw new NrrError(`refusing to listen on ${options.host} without a token: set NRR_API_TOKEN (or serve.token_env in the config), or listen on 127.0.0.1`);
  }
  const allowedHosts = [...new Set([...DEFAULT_ALLOWED_HOSTS, options.host, ...(options.allowedHosts ?? [])].map(normaliseAllowedHost))];
  const live = source instanceof LiveWorkspace ? source : null;
  const tokenFailures = new FailureLimiter(10, 60_000);
  // A new state gets a new app: its answers, sorted lists and cache start from that state.
  const appFor = (ws: Workspace, warmUp = false) =>
    createApp(ws, {
      warmUp,
      token: options.token,
      allowedHosts,
      tokenFailures,
      answerCache: new AnswerCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES),
      ...(live ? { ingest: (batch) => live.apply(batch), changes: live, stripeWebhook: options.stripeWebhook } : {}),
    });
  // The first app computes what the pages ask for first in the background; after a change, pages compute what they ask for.
  let app = appFor(live ? live.workspace : (source as Workspace), options.warmUp ?? true);
  const plays = live ? replayPlays(options.onSync ?? (() => undefined)) : null;
  live?.onChange((ws) => {
    app = appFor(ws);
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: (req, env) => app.fetch(req, env), port: options.port, hostname: options.host }, () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new NrrError(`port ${options.port} is in use: pick another with --port`) : new NrrError(`cannot listen on ${options.host}:${options.port}: ${e.message}`)),
    );
  });
  const stopWatching = live ? watchFiles(live, options.watchMs ?? 1000, options.onSync ?? (() => undefined), (ws) => plays?.changed(ws)) : () => undefined;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        stopWatching();
        plays?.stop();
        server.close(() => r());
        // Idle keep-alive connections (a browser's) would hold close() open for minutes.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}

/**
 * After a sync of changed files, the plays of a workspace that runs them (its play state exists)
 * are evaluated again for the day, for every account (a sync may change any number of them), once
 * the syncs of a burst are in (2 s without another): accounts that now qualify enter their play and
 * get a task, those that no longer do exit, as in a scheduled run. Each evaluation is a run of its
 * own (its run key names the moment), recorded and delivered as one. An ingested change
 * (POST /api/ingest) does not come here: it evaluates the plays of the accounts it touched as it
 * is applied (LiveWorkspace.apply, playbooks/apply-plays.ts), and its answer says what they did.
 */
function replayPlays(say: (message: string) => void): { changed: (ws: Workspace) => void; stop: () => void } {
  let timer: NodeJS.Timeout | null = null;
  let latest: Workspace | null = null;
  let running: Promise<void> = Promise.resolve();
  const run = (): void => {
    const ws = latest;
    if (ws === null || !existsSync(statePath(ws.dataDir, ws.scoring.playbookSettings))) return;
    running = running.then(async () => {
      try {
        const date = defaultSnapshot(ws);
        const r = await runPlaybooks(ws, { runKey: `${date}/${ws.scoring.playbookVersion}/live-${new Date().toISOString()}` });
        const e = r.effects;
        if (e.opened.length + e.closed.length > 0) say(`plays evaluated again after the change: opened ${e.opened.length} task(s), closed ${e.closed.length}`);
      } catch (err) {
        say(`plays could not be evaluated after the change: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  };
  return {
    changed: (ws) => {
      latest = ws;
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, 2000);
      timer.unref();
    },
    stop: () => {
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Checks the data folder's files every `everyMs` (their size and time: cheap) and syncs the store
 * when one changed (then `synced` is told). A sync that fails (a file that breaks a rule, a file half written) leaves the
 * last good state served and is said once until the files change again.
 */
function watchFiles(live: LiveWorkspace, everyMs: number, say: (message: string) => void, synced: (ws: Workspace) => void): () => void {
  let running = false;
  let lastError = '';
  let failedStamp = '';
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      try {
        if (!(await live.filesLookChanged())) return;
        const stamp = live.filesStamp();
        if (stamp === failedStamp) return;
        failedStamp = stamp;
        const use = await live.sync();
        lastError = '';
        failedStamp = '';
        if (use.action !== 'read') {
          say(`files changed (${use.changed.join(', ')}): the store was ${use.action}${use.accounts === null ? '' : `, ${use.accounts} account(s) computed again`}`);
          synced(live.workspace);
        }
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (message !== lastError) say(`the files changed but could not be read, so the last good state is still served: ${message}`);
        lastError = message;
      } finally {
        running = false;
      }
    })();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
