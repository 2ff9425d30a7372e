import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { acquireChdbSession, releaseChdbSession, type ChdbSession } from '../../src/drivers/chdb-driver.js';

/**
 * A stand-in for a ClickHouse server, for the tests of the client driver: no modern ClickHouse
 * server can run here (Debian packages ClickHouse 18, from 2018, without window functions), so this
 * small HTTP server speaks ClickHouse's HTTP interface and runs each query on the real ClickHouse
 * engine embedded through chdb. It does what the official client relies on:
 * - the query in the `query` URL parameter and/or the POST body (concatenated, as ClickHouse does:
 *   INSERT's data follows its query in the body), `FORMAT` in the query, `default_format`;
 * - `database`, `query_id`, and every other URL parameter as a setting of that query only (each
 *   request starts from the engine's defaults, whatever an earlier request or another chdb user
 *   set: a client that forgets to send a setting sees ClickHouse's default, as on a server);
 * - users: HTTP Basic auth or X-ClickHouse-User/X-ClickHouse-Key, refused with code 516;
 * - gzip responses when `enable_http_compression=1` and the client accepts gzip, gzip bodies;
 * - HTTPS, given a key and a certificate;
 * - X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Timezone, X-ClickHouse-Summary;
 * - errors as ClickHouse returns them: `Code: N. DB::Exception: … (NAME) (version …)` with the
 *   X-ClickHouse-Exception-Code header and the HTTP status ClickHouse gives that code.
 * It does not do sessions (`session_id`), query parameters (`param_*`), or several queries at once.
 */

/** URL parameters that are not settings. */
const NOT_SETTINGS = new Set(['query', 'database', 'default_format', 'query_id', 'user', 'password', 'wait_end_of_query', 'compress', 'decompress']);

/** Settings chdb itself changes when it starts: the baseline, left alone. */
const CHDB_OWN = new Set(['allow_introspection_functions', 'serialize_query_plan', 'storage_file_read_method', 'implicit_select', 'output_format_arrow_use_native_writer']);

/** The HTTP status ClickHouse answers some error codes with (500 for the others). */
const STATUS_OF_CODE: Record<number, number> = { 60: 404, 81: 404, 62: 400, 516: 401, 497: 403, 164: 403 };

export interface ClickHouseHttpServer {
  /** `clickhouse://user:password@127.0.0.1:port` (clickhouse+https:// with TLS; append `/database`). */
  readonly url: string;
  readonly port: number;
  /** Each request's URL parameters, in order (for tests of what the client sends). */
  readonly requests: URLSearchParams[];
  stop(): Promise<void>;
}

export interface ClickHouseHttpOptions {
  readonly user?: string;
  readonly password?: string;
  /** Serve HTTPS with this key and certificate (PEM); the URL is then clickhouse+https://. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

const VERSION = '26.7.2.1';

class ClickHouseFailure extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(body);
  }
}

/** chdb's error as a server prints it: `Code: 62. DB::Exception: … (SYNTAX_ERROR) (version …)`. */
function failureOf(e: unknown): ClickHouseFailure {
  const text = (e instanceof Error ? e.message : String(e)).replace(/^Query failed: /, '').trim();
  const code = Number(/Code: (\d+)\./.exec(text)?.[1] ?? 1001);
  return new ClickHouseFailure(code, `${text} (version ${VERSION})\n`);
}

function quoteSetting(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * Runs one request's query on the shared engine, synchronously (nothing else runs in between):
 * settings back to their defaults, the request's applied, the query run, the settings restored.
 */
function run(session: ChdbSession, query: string, database: string, format: string, settings: readonly [string, string][]): string {
  const before = session
    .query('SELECT name, value FROM system.settings WHERE changed', 'JSONEachRow')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { name: string; value: string })
    .filter((s) => !CHDB_OWN.has(s.name));
  const touched = new Set([...before.map((s) => s.name), ...settings.map(([k]) => k)]);
  const restore = (): void => {
    if (touched.size === 0) return;
    const old = new Map(before.map((s) => [s.name, s.value]));
    session.query(`SET ${[...touched].map((k) => `${k} = ${old.has(k) ? quoteSetting(old.get(k)!) : 'DEFAULT'}`).join(', ')}`);
  };
  try {
    if (before.length > 0) session.query(`SET ${before.map((s) => `${s.name} = DEFAULT`).join(', ')}`);
    if (settings.length > 0) session.query(`SET ${settings.map(([k, v]) => `${k} = ${quoteSetting(v)}`).join(', ')}`);
    session.query(`USE ${database}`);
    return session.query(query, format);
  } finally {
    restore();
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function credentials(req: IncomingMessage, params: URLSearchParams): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const text = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const at = text.indexOf(':');
    return { user: text.slice(0, at), password: text.slice(at + 1) };
  }
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return {
    user: header('x-clickhouse-user') ?? params.get('user') ?? 'default',
    password: header('x-clickhouse-key') ?? params.get('password') ?? '',
  };
}

async function answer(session: ChdbSession, req: IncomingMessage, res: ServerResponse, options: { user: string; password: string }, requests: URLSearchParams[]): Promise<void> {
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
  requests.push(params);
  const queryId = params.get('query_id') ?? randomUUID();
  const format = params.get('default_format') ?? 'TabSeparated';
  const headers: Record<string, string> = {
    'X-ClickHouse-Query-Id': queryId,
    'X-ClickHouse-Format': format,
    'X-ClickHouse-Timezone': 'UTC',
    'X-ClickHouse-Server-Display-Name': 'nrr-test-stand-in',
  };
  const gzip = params.get('enable_http_compression') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  try {
    let body = await readBody(req);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const { user, password } = credentials(req, params);
    if (user !== options.user || password !== options.password) {
      throw new ClickHouseFailure(
        516,
        `Code: 516. DB::Exception: ${user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version ${VERSION})\n`,
      );
    }
    if (params.has('session_id')) throw new ClickHouseFailure(1001, `Code: 1001. DB::Exception: the test stand-in has no sessions. (STD_EXCEPTION) (version ${VERSION})\n`);
    const inUrl = params.get('query') ?? '';
    const text = body.toString('utf8');
    const query = inUrl !== '' && text !== '' ? `${inUrl}\n${text}` : inUrl + text;
    if (query.trim() === '') throw new ClickHouseFailure(62, `Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR) (version ${VERSION})\n`);
    const settings = [...params].filter(([k]) => !NOT_SETTINGS.has(k));
    let out: string;
    try {
      out = run(session, query, params.get('database') ?? 'default', format, settings);
    } catch (e) {
      throw failureOf(e);
    }
    const summary = { read_rows: '0', read_bytes: '0', written_rows: '0', written_bytes: '0', total_rows_to_read: '0', result_rows: '0', result_bytes: String(out.length), elapsed_ns: '0' };
    headers['X-ClickHouse-Summary'] = JSON.stringify(summary);
    const payload = gzip ? gzipSync(out) : Buffer.from(out);
    if (gzip) headers['Content-Encoding'] = 'gzip';
    res.writeHead(200, { ...headers, 'Content-Type': 'text/plain; charset=UTF-8' });
    res.end(payload);
  } catch (e) {
    const failure = e instanceof ClickHouseFailure ? e : failureOf(e);
    const payload = gzip ? gzipSync(failure.body) : Buffer.from(failure.body);
    if (gzip) headers['Content-Encoding'] = 'gzip';
    res.writeHead(STATUS_OF_CODE[failure.code] ?? 500, { ...headers, 'X-ClickHouse-Exception-Code': String(failure.code), 'Content-Type': 'text/plain; charset=UTF-8' });
    res.end(payload);
  }
}

/** Starts the stand-in on a free port of 127.0.0.1 (needs the package chdb). */
export async function startClickHouseHttp(options: ClickHouseHttpOptions = {}): Promise<ClickHouseHttpServer> {
  const opts = { user: options.user ?? 'nrr', password: options.password ?? 'test-secret' };
  const scheme = options.tls === undefined ? 'clickhouse' : 'clickhouse+https';
  // chdb binds one engine per process: the stand-in shares it with the embedded driver.
  const session = acquireChdbSession();
  const requests: URLSearchParams[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => void answer(session, req, res, opts, requests);
  const server = options.tls === undefined ? createServer(handler) : createTlsServer({ key: options.tls.key, cert: options.tls.cert }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`,
    port,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          releaseChdbSession();
          resolve();
        });
      }),
  };
}
