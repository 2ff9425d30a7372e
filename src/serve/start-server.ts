import { serve, type ServerType } from '@hono/node-server';
import { NrrError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';
import { AnswerCache } from './answer-cache.js';
import { DEFAULT_CACHE_BYTES, createApp } from './api-app.js';
import { DEFAULT_ALLOWED_HOSTS, normaliseAllowedHost } from './http-security.js';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  /** Needed to listen on anything but loopback; at least 16 characters. */
  readonly token?: string;
  /**
   * Without a token: host names answered besides localhost, 127.0.0.1, [::1] and the address
   * listened on (any port); requests addressed to any other name get a 421.
   */
  readonly allowedHosts?: readonly string[];
  /** Bytes of API answers kept in memory (default 64 MiB). */
  readonly cacheBytes?: number;
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
export async function startServer(ws: Workspace, options: ServeOptions): Promise<RunningServer> {
  if (!options.token && !LOOPBACK.test(options.host)) {
    throw new NrrError(`refusing to listen on ${options.host} without a token: set NRR_API_TOKEN (or serve.token_env in the config), or listen on 127.0.0.1`);
  }
  const allowedHosts = [...new Set([...DEFAULT_ALLOWED_HOSTS, options.host, ...(options.allowedHosts ?? [])].map(normaliseAllowedHost))];
  const app = createApp(ws, { token: options.token, allowedHosts, answerCache: new AnswerCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES) });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new NrrError(`port ${options.port} is in use: pick another with --port`) : new NrrError(`cannot listen on ${options.host}:${options.port}: ${e.message}`)),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
