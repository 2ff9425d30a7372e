import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NrrError, Workspace, generateCompany, metrics, cohortTable, scoreAccounts } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { PlaybookState } from '../src/playbooks/playbook-state.js';
import { statePath } from '../src/playbooks/playbook-settings.js';
import { AnswerCache } from '../src/serve/answer-cache.js';
import { createApp } from '../src/serve/api-app.js';
import { FailureLimiter } from '../src/serve/failure-limiter.js';
import { DEFAULT_ALLOWED_HOSTS, SECURITY_HEADERS, hostAllowed, hostName, normaliseAllowedHost } from '../src/serve/http-security.js';
import { startServer } from '../src/serve/start-server.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

const TOKEN = 'k7Qw-3vLp-9ZmX-2bRt';
let dir: string;
let ws: Workspace;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-serve-'));
  await generateCompany({ out: dir, accounts: 400, months: 30, seed: 11, end: '2026-06' });
  // Today pinned the day after the data's last month: that month is the reporting month, live views look from today.
  ws = await Workspace.open({ data: dir, signals: true, today: new Date('2026-07-01T00:00:00Z') });
  await runPlaybooks(ws, {});
  app = createApp(ws);
}, 120_000);
afterAll(() => {
  ws?.close();
  removeDir(dir);
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> & unknown[] }> {
  const res = await app.request(path, init);
  return { status: res.status, body: (await res.json()) as never };
}

describe('the API, in-process', () => {
  it('/api/summary: the last full month is reported, live views look from today, the data is current', async () => {
    const { status, body } = await get('/api/summary');
    expect(status).toBe(200);
    expect([body['as_of_month'], body['as_of_date'], body['today'], body['partial'], body['stale'], body['date_notes']]).toEqual([
      '2026-06',
      '2026-07-01',
      '2026-07-01',
      false,
      null,
      [],
    ]);
  });

  it('/api/metrics gives the engine’s numbers, overall and by a slice, with every digit', async () => {
    const [m] = await metrics(ws, { window: 12 });
    const res = await app.request('/api/metrics?window=12');
    expect(res.status).toBe(200);
    const text = await res.text();
    // Money leaves as the engine's exact decimals, as strings, never rounded.
    expect(text).toContain(`"starting_mrr":"${m!.starting_mrr.value}"`);
    const [got] = JSON.parse(text) as { nrr: number; grr: number; month: string }[];
    expect(got).toMatchObject({ nrr: m!.nrr, grr: m!.grr, month: '2026-06' });

    const bySegment = await metrics(ws, { window: 3, month: '2026-03', by: 'segment' });
    const r = await get('/api/metrics?window=3&month=2026-03&by=segment');
    expect((r.body as unknown as { group: string; nrr: number }[]).map((x) => [x.group, x.nrr])).toEqual(bySegment.map((x) => [x.group, x.nrr]));
  });

  it('/api/accounts and /api/accounts/:id match the scored records', async () => {
    const scored = await scoreAccounts(ws, {});
    const r = await get('/api/accounts?sort=arr&limit=5');
    expect(r.body['total']).toBe(scored.length);
    const top = [...scored].sort((a, b) => b.record.arr.toNumber() - a.record.arr.toNumber())[0]!;
    const first = (r.body['rows'] as { account_id: string; arr: string; tier: string; churn_risk: number }[])[0]!;
    expect(first).toMatchObject({ account_id: top.record.account_id, arr: top.record.arr.value, tier: top.tier, churn_risk: top.risk.score });

    const red = await get('/api/accounts?health=red&limit=100000');
    expect(red.body['total']).toBe(scored.filter((s) => s.health.colour === 'red').length);
    expect((red.body['rows'] as { health_colour: string }[]).every((x) => x.health_colour === 'red')).toBe(true);

    const one = await get(`/api/accounts/${encodeURIComponent(top.record.account_id)}`);
    expect(one.status).toBe(200);
    const detail = one.body as unknown as { account: { arr: string }; explanation: { history: unknown[]; lines: unknown[] }; scored: { health: { score: number } } };
    expect(detail.account.arr).toBe(top.record.arr.value);
    expect(detail.scored.health.score).toBe(top.health.score);
    expect(detail.explanation.lines.length).toBeGreaterThan(0);
    expect(detail.explanation.history.length).toBeGreaterThan(0);

    const missing = await get('/api/accounts/NOPE-1');
    expect(missing.status).toBe(404);
    expect(missing.body['error']).toMatch(/account 'NOPE-1' has no lines in the data/);
  });

  it('/api/cohorts and /api/tasks match the engine and the play state', async () => {
    const cohorts = await cohortTable(ws, 'year');
    const r = await get('/api/cohorts?granularity=year');
    expect((r.body['rows'] as { cohort: string; retention: number[] }[]).map((c) => [c.cohort, c.retention])).toEqual(cohorts.map((c) => [c.cohort, c.retention]));

    const s = await PlaybookState.open(statePath(ws.dataDir, ws.scoring.playbookSettings));
    const open = await s.tasks({ status: 'open' });
    s.close();
    expect(open.length).toBeGreaterThan(0);
    const t = await get('/api/tasks');
    expect(t.body['total']).toBe(open.length);
    const owner = open[0]!.owner;
    const mine = await get(`/api/tasks?owner=${encodeURIComponent(owner.toUpperCase())}`);
    expect(mine.body['total']).toBe(open.filter((x) => x.owner === owner).length);
    const pb = await get('/api/playbooks');
    const byOwner = pb.body['by_owner'] as { owner: string; open: number }[];
    expect(byOwner.reduce((n, o) => n + o.open, 0)).toBe(open.length);
  });

  it('answers a bad parameter with a 400 naming it, the value and what was expected', async () => {
    const cases: [string, RegExp][] = [
      ['/api/metrics?month=2025-13', /^month: expected a month as YYYY-MM, got '2025-13'$/],
      ['/api/metrics?window=0', /^window: expected 1 or more, got '0'$/],
      ['/api/metrics?window=abc', /^window: expected a whole number, got 'abc'$/],
      ['/api/metrics?month=2030-01', /^month: 2030-01 is after the reporting month 2026-06$/],
      ['/api/metrics?by=shoe_size', /^by: expected one of acv_band, .*, got 'shoe_size'$/],
      ['/api/metrics?colour=red', /^unknown parameter colour$/],
      ['/api/accounts?health=purple', /^health: Invalid option: expected one of "red"\|"yellow"\|"green", got 'purple'$/],
      ['/api/movements?from=2026-05&to=2026-01', /^from: 2026-05 is after to \(2026-01\)$/],
      ['/api/tasks?status=lost', /^status: .*, got 'lost'$/],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body['error'], path).toMatch(message);
    }
    expect((await get('/api/nothing')).status).toBe(404);
  });

  it('publishes OpenAPI for every endpoint with its parameters', async () => {
    const doc = (await get('/api/openapi.json')).body as unknown as { openapi: string; paths: Record<string, { get: { parameters: { name: string }[] } }> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/metrics', '/api/movements', '/api/accounts', '/api/accounts/{id}', '/api/tasks']));
    expect(doc.paths['/api/metrics']!.get.parameters.map((p) => p.name)).toEqual(['month', 'window', 'by', 'filters']);
  });
});

describe('auth', () => {
  it('with a token, /api needs it; the page files do not', async () => {
    const locked = createApp(ws, { token: TOKEN });
    expect((await locked.request('/api/summary')).status).toBe(401);
    expect((await locked.request('/api/summary', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await locked.request('/api/summary', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await locked.request('/api/summary', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await locked.request('/overview')).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token, and listens on loopback', async () => {
    await expect(startServer(ws, { port: 0, host: '0.0.0.0' })).rejects.toThrow(NrrError);
    await expect(startServer(ws, { port: 0, host: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without a token/);
    const s = await startServer(ws, { port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${s.url}api/summary`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { as_of_month: string }).as_of_month).toBe('2026-06');
    } finally {
      await s.close();
    }
  });
});

/** A request as it arrives on a socket from `address` (what @hono/node-server passes as env). */
const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

/** The status of GET /api/summary on 127.0.0.1:port sent with this exact Host header (fetch may not send one). */
function statusWithHost(port: number | string, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/summary', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Host allow-list without a token (DNS rebinding)', () => {
  it('answers loopback names with any port, IPv6 included, and refuses every other name with a 421', async () => {
    for (const host of ['localhost', 'localhost:4317', 'LOCALHOST:80', 'localhost.:4317', '127.0.0.1', '127.0.0.1:4317', '[::1]', '[::1]:4317']) {
      const res = await app.request('/api/summary', { headers: { host } });
      expect(res.status, host).toBe(200);
    }
    for (const host of ['evil.example', 'evil.example:4317', 'localhost.evil.example', '127.0.0.1.nip.io:4317', '[::2]:4317', '127.0.0.2', 'localhost:abc', 'user@localhost', '']) {
      for (const path of ['/api/summary', '/overview', '/app.js']) {
        const res = await app.request(path, { headers: { host } });
        expect(res.status, `${host} ${path}`).toBe(421);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(await res.text()).toBe('421 Misdirected Request: this server answers only requests addressed to its own names (localhost, 127.0.0.1, [::1]; nrr serve --allow-host adds one)\n');
      }
    }
  });

  it('takes a configured list, and does not check the Host when a token guards the API', async () => {
    const custom = createApp(ws, { allowedHosts: ['nrr.internal'] });
    expect((await custom.request('/api/summary', { headers: { host: 'nrr.internal:8080' } })).status).toBe(200);
    const refused = await custom.request('/api/summary', { headers: { host: 'localhost' } });
    expect(refused.status).toBe(421);
    expect(await refused.text()).not.toContain('nrr.internal');
    const locked = createApp(ws, { token: TOKEN });
    expect((await locked.request('/api/summary', { headers: { host: 'nrr.example.com', authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await locked.request('/api/summary', { headers: { host: 'nrr.example.com' } })).status).toBe(401);
  });

  it('reads host names as a browser sends them', () => {
    expect(hostName('[::1]:4317')).toBe('[::1]');
    expect(hostName('LocalHost.:80')).toBe('localhost');
    expect(hostName('a b')).toBeNull();
    expect(normaliseAllowedHost('::1')).toBe('[::1]');
    expect(normaliseAllowedHost('Nrr.Internal')).toBe('nrr.internal');
    expect(() => normaliseAllowedHost('nrr.internal/x')).toThrow(/allowed host 'nrr.internal\/x': expected a host name/);
    expect(hostAllowed(undefined, DEFAULT_ALLOWED_HOSTS)).toBe(false);
  });

  it('on a real socket: a request whose Host is evil.example gets a 421, localhost a 200', async () => {
    const s = await startServer(ws, { port: 0, host: '127.0.0.1' });
    const port = new URL(s.url).port;
    const status = (host: string) => statusWithHost(port, host);
    try {
      expect(await status('evil.example')).toBe(421);
      expect(await status(`evil.example:${port}`)).toBe(421);
      expect(await status(`localhost:${port}`)).toBe(200);
      expect(await status(`127.0.0.1:${port}`)).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('`nrr serve` (the built CLI) without a token answers Host: evil.example with a 4xx', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const env = { ...process.env };
    delete env['NRR_API_TOKEN'];
    const child = spawn(process.execPath, ['dist/cli/nrr.js', 'serve', '--data', 'examples/acme', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Dashboard:')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`nrr serve exited with ${code}`)));
      });
      const status = await statusWithHost(port, 'evil.example');
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});

describe('security headers', () => {
  it('are on every kind of response: JSON, errors, refusals, pages, scripts, styles, the chart library', async () => {
    const locked = createApp(ws, { token: TOKEN, tokenFailures: new FailureLimiter(1, 60_000) });
    const responses: [string, Response][] = [
      ['200 json', await app.request('/api/summary')],
      ['200 gzip', await app.request('/api/tasks', { headers: { 'accept-encoding': 'gzip' } })],
      ['400', await app.request('/api/metrics?window=0')],
      ['404 api', await app.request('/api/nothing')],
      ['404 account', await app.request('/api/accounts/NOPE-1')],
      ['200 page', await app.request('/accounts/A1')],
      ['200 script', await app.request('/build/main.js')],
      ['200 style', await app.request('/app.css')],
      ['200 echarts', await app.request('/vendor/echarts.min.js')],
      ['404 file', await app.request('/missing.js')],
      ['421', await app.request('/api/summary', { headers: { host: 'evil.example' } })],
      ['401', await locked.request('/api/summary', { headers: { authorization: 'Bearer nope' } }, from('10.1.1.1'))],
      ['429', await locked.request('/api/summary', { headers: { authorization: 'Bearer nope' } }, from('10.1.1.1'))],
    ];
    const statuses = responses.map(([k, r]) => `${k}:${r.status}`);
    expect(statuses).toEqual(['200 json:200', '200 gzip:200', '400:400', '404 api:404', '404 account:404', '200 page:200', '200 script:200', '200 style:200', '200 echarts:200', '404 file:404', '421:421', '401:401', '429:429']);
    for (const [kind, res] of responses) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name), `${kind} ${name}`).toBe(value);
    }
    const csp = SECURITY_HEADERS['content-security-policy']!;
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(SECURITY_HEADERS['x-content-type-options']).toBe('nosniff');
    expect(SECURITY_HEADERS['referrer-policy']).toBe('no-referrer');
  });

  it('the page has no inline script or style for the CSP to refuse', async () => {
    const html = await (await app.request('/overview')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const js = await (await app.request('/build/main.js')).text();
    expect(js).not.toMatch(/\sstyle="/);
  });
});

describe('what the pages load', () => {
  it('the page preloads the build (one bundled module) under a versioned path; it answers with a year-long cache, 304 to a browser that has it', async () => {
    const html = await (await app.request('/overview')).text();
    const scripts = [...html.matchAll(/<link rel="modulepreload" href="(\/build-[0-9a-z]+\/[^"]+)"/g)].map((m) => m[1]!);
    const version = /\/build-([0-9a-z]+)\//.exec(scripts[0] ?? '')?.[1];
    expect(version).toBeDefined();
    // One module: a browser fetches six files from a server at a time, so a module per file came in rounds.
    expect(scripts).toEqual([`/build-${version}/main.js`]);
    expect(html).toContain(`<script src="/build-${version}/main.js" type="module">`);
    const res = await app.request(`/build-${version}/main.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toBe(await (await app.request('/build/main.js')).text());
    const again = await app.request(`/build-${version}/main.js`, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    // Gzipped once: the same bytes as the file when unzipped.
    const zipped = await app.request('/build/main.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await zipped.arrayBuffer())).toString('utf8')).toBe(await (await app.request('/build/main.js')).text());
  });

  it('every API answer says its server time and CPU time (Server-Timing); /api/status lists the background work', async () => {
    for (const path of ['/api/summary', '/api/metrics?window=12', '/api/accounts/NOPE-1']) {
      const header = (await app.request(path)).headers.get('server-timing') ?? '';
      expect(header, path).toMatch(/^app;dur=\d+\.\d, cpu;dur=\d+\.\d$/);
    }
    const fresh = createApp(ws);
    expect(await (await fresh.request('/api/status')).json()).toEqual({ jobs: [] });
    await fresh.request('/api/report');
    const { jobs } = (await (await fresh.request('/api/status')).json()) as { jobs: { job: string; status: string; seconds: number; what: string }[] };
    expect(jobs.map((j) => [j.job, j.status])).toEqual([['report', 'done']]);
    expect(jobs[0]!.seconds).toBeGreaterThanOrEqual(0);
  });
});

describe('tokens', () => {
  it('refuses a token shorter than 16 characters, in the app, at startup and in the CLI', async () => {
    expect(() => createApp(ws, { token: 'fifteen-chars-x' })).toThrow(/the API token is 15 characters long; an API token needs at least 16/);
    expect(() => createApp(ws, { token: 'sixteen-chars-xy' })).not.toThrow();
    await expect(startServer(ws, { port: 0, host: '0.0.0.0', token: 'short' })).rejects.toThrow(/needs at least 16/);
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['dist/cli/nrr.js', 'serve', '--data', 'examples/acme'], { env: { ...process.env, NRR_API_TOKEN: 's3cret' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/NRR_API_TOKEN is 6 characters long; an API token needs at least 16/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('rate-limits wrong tokens per address: the 11th in a minute gets a 429 with Retry-After, even with the right token; others are not affected', async () => {
    let now = 1_000_000;
    const locked = createApp(ws, { token: TOKEN, tokenFailures: new FailureLimiter(10, 60_000, () => now) });
    const call = (token: string | undefined, address: string) =>
      locked.request('/api/summary', { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, from(address));
    for (let i = 0; i < 10; i++) {
      now += 1000;
      expect((await call(`guess-${i}`, '10.0.0.7')).status).toBe(401);
    }
    const blocked = await call('guess-10', '10.0.0.7');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('51'); // the first failure (at +1 s) leaves the window at +61 s; now is +10 s
    expect(((await blocked.json()) as { error: string }).error).toMatch(/too many wrong tokens from this address: try again in 51 s/);
    // While blocked, the right token does not get through either: a 200 would tell a guesser it had found it.
    expect((await call(TOKEN, '10.0.0.7')).status).toBe(429);
    expect((await call(TOKEN, '10.0.0.8')).status).toBe(200);
    // Requests without a token are not guesses.
    for (let i = 0; i < 20; i++) expect((await call(undefined, '10.0.0.9')).status).toBe(401);
    expect((await call(TOKEN, '10.0.0.9')).status).toBe(200);
    now += 51_000;
    expect((await call(TOKEN, '10.0.0.7')).status).toBe(200);
  });

  it('the limiter forgets failures older than its window, one by one', () => {
    let now = 0;
    const l = new FailureLimiter(3, 60_000, () => now);
    l.fail('a');
    now = 10_000;
    l.fail('a');
    now = 20_000;
    expect(l.retryAfterMs('a')).toBe(0);
    l.fail('a');
    expect(l.retryAfterMs('a')).toBe(40_000);
    expect(l.retryAfterMs('b')).toBe(0);
    now = 60_001;
    expect(l.retryAfterMs('a')).toBe(0);
  });
});

describe('the answer cache is bounded in bytes', () => {
  it('never holds more than its bound, keeps recent answers, skips answers above an eighth of it', async () => {
    const cache = new AnswerCache(10_000);
    let computed = 0;
    const answer = (n: number) => async () => (computed++, 'x'.repeat(n));
    for (let i = 0; i < 200; i++) {
      await cache.get(`k${i}`, answer(100 + ((i * 37) % 1100)));
      expect(cache.bytes).toBeLessThanOrEqual(10_000);
    }
    expect(cache.size).toBeGreaterThan(5);
    // The most recent answer is kept; the first ones were evicted.
    computed = 0;
    await cache.get('k199', answer(1));
    expect(computed).toBe(0);
    await cache.get('k0', answer(100));
    expect(computed).toBe(1);
    // 1,300 bytes with its key: above 10,000 / 8, never kept.
    await cache.get('big', answer(1297));
    await cache.get('big', answer(1297));
    expect(computed).toBe(3);
    // Concurrent requests for one key share one computation; a failure is not kept.
    computed = 0;
    await Promise.all([cache.get('same', answer(10)), cache.get('same', answer(10))]);
    expect(computed).toBe(1);
    await expect(cache.get('fails', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('fails', answer(3))).toBe('xxx');
  });

  it('holds the server’s answers within its bound across many distinct requests, and they stay right', async () => {
    const cache = new AnswerCache(60_000);
    const bounded = createApp(ws, { answerCache: cache });
    const months = ['2025-07', '2025-08', '2025-09', '2025-10', '2025-11', '2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'];
    let served = 0;
    for (const month of months) {
      for (const window of [1, 3, 12]) {
        for (const by of ['', '&by=segment']) {
          const res = await bounded.request(`/api/metrics?month=${month}&window=${window}${by}`);
          expect(res.status).toBe(200);
          served += (await res.text()).length;
          expect(cache.bytes).toBeLessThanOrEqual(60_000);
        }
      }
    }
    expect(served).toBeGreaterThan(60_000); // more than fits: answers were evicted
    expect(cache.size).toBeLessThan(months.length * 6);
    const [m] = await metrics(ws, { month: '2025-07', window: 3 });
    const again = (await (await bounded.request('/api/metrics?month=2025-07&window=3')).json()) as { starting_mrr: string; nrr: number }[];
    expect(again[0]).toMatchObject({ starting_mrr: m!.starting_mrr.value, nrr: m!.nrr });
  });
});

/** JSON Schema as the OpenAPI document uses it ($ref, anyOf, allOf, type, pattern, properties, required, items). */
function schemaErrors(value: unknown, schema: Record<string, unknown>, defs: Record<string, Record<string, unknown>>, at = '$'): string[] {
  if (typeof schema['$ref'] === 'string') return schemaErrors(value, defs[(schema['$ref'] as string).split('/').pop()!]!, defs, at);
  if (Array.isArray(schema['anyOf'])) {
    const each = (schema['anyOf'] as Record<string, unknown>[]).map((s) => schemaErrors(value, s, defs, at));
    return each.some((e) => e.length === 0) ? [] : each.flat();
  }
  if (Array.isArray(schema['allOf'])) return (schema['allOf'] as Record<string, unknown>[]).flatMap((s) => schemaErrors(value, s, defs, at));
  const errors: string[] = [];
  if (schema['type'] !== undefined) {
    const types = ([] as string[]).concat(schema['type'] as string | string[]);
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok = types.some((t) => t === actual || (t === 'integer' && Number.isInteger(value)));
    if (!ok) return [`${at}: expected ${types.join('|')}, got ${JSON.stringify(value)}`];
  }
  if (typeof schema['pattern'] === 'string' && typeof value === 'string' && !new RegExp(schema['pattern']).test(value)) errors.push(`${at}: '${value}' does not match ${schema['pattern']}`);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of (schema['required'] as string[] | undefined) ?? []) if (!(k in obj)) errors.push(`${at}.${k}: missing`);
    for (const [k, s] of Object.entries((schema['properties'] as Record<string, Record<string, unknown>> | undefined) ?? {})) {
      if (k in obj) errors.push(...schemaErrors(obj[k], s, defs, `${at}.${k}`));
    }
  }
  if (Array.isArray(value) && schema['items']) value.forEach((v, i) => errors.push(...schemaErrors(v, schema['items'] as Record<string, unknown>, defs, `${at}[${i}]`)));
  return errors;
}

const MONEY_KEYS = new Set(['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'fx', 'mrr', 'arr', 'mrr_before', 'mrr_after', 'mrr_local', 'last_funding_amount', 'open_expansion_pipeline', 'target_arr', 'flagged_arr', 'amount', 'new', 'reactivation', 'net_new', 'arr_at_risk', 'expected_arr_loss', 'renewals_90d_arr']);

/** Every money-named value that is a number (not an object, not null): none may be. A movement's delta is money; a health score's is points. */
function moneyNumbers(value: unknown, at = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => moneyNumbers(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    const isMoney = (k: string): boolean => MONEY_KEYS.has(k) || (k === 'delta' && 'mrr_after' in value);
    return Object.entries(value).flatMap(([k, v]) => (isMoney(k) && typeof v === 'number' ? [`${at}.${k} = ${v}`] : moneyNumbers(v, `${at}.${k}`)));
  }
  return [];
}

describe('money in the API is exact decimal text, as its OpenAPI says', () => {
  it('every endpoint’s answer matches its published schema, and no money field anywhere is a number', async () => {
    const doc = (await get('/api/openapi.json')).body as unknown as {
      components: { schemas: Record<string, Record<string, unknown>> };
      paths: Record<string, { get: { responses: { '200': { content?: { 'application/json': { schema: Record<string, unknown> } } } } } }>;
    };
    const id = ((await get('/api/accounts?sort=arr&limit=1')).body['rows'] as { account_id: string }[])[0]!.account_id;
    const urls: Record<string, string> = {
      '/api/report': '/api/report',
      '/api/metrics': '/api/metrics?window=12&by=segment',
      '/api/movements': '/api/movements?limit=300&compare=1',
      '/api/cohorts': '/api/cohorts',
      '/api/accounts': '/api/accounts?limit=400',
      '/api/accounts/{id}': `/api/accounts/${encodeURIComponent(id)}`,
      '/api/playbooks/backtest': '/api/playbooks/backtest',
      '/api/series': '/api/series',
      '/api/attributes': '/api/attributes',
      '/api/explain': `/api/explain?account=${encodeURIComponent(id)}`,
      '/api/cohorts/{cohort}/accounts': `/api/cohorts/${((await get('/api/cohorts')).body['rows'] as { cohort: string }[])[0]!.cohort}/accounts`,
      '/api/tasks': '/api/tasks?status=all',
      '/api/book': '/api/book',
      '/api/accounts/{id}/timeline': `/api/accounts/${encodeURIComponent(id)}/timeline`,
      '/api/accounts/{id}/history': `/api/accounts/${encodeURIComponent(id)}/history`,
    };
    for (const [path, url] of Object.entries(urls)) {
      const schema = doc.paths[path]!.get.responses['200'].content!['application/json'].schema;
      const body = (await get(url)).body;
      expect(schemaErrors(body, schema, doc.components.schemas).slice(0, 5), url).toEqual([]);
    }
    for (const url of [...Object.values(urls), '/api/summary', '/api/tasks?status=all', '/api/playbooks', '/api/metrics?window=1']) {
      expect(moneyNumbers((await get(url)).body), url).toEqual([]);
    }
    // The checker does catch a number where money belongs.
    expect(schemaErrors({ starting_mrr: 12.5 }, { type: 'object', properties: { starting_mrr: { $ref: '#/components/schemas/Money' } } }, doc.components.schemas)).toHaveLength(1);
    expect(moneyNumbers({ rows: [{ arr: 1.5 }, { mrr_after: '1', delta: 2 }] })).toEqual(['$.rows[0].arr = 1.5', '$.rows[1].delta = 2']);
  });

  it('an amount of 1234567.123456789012 reaches the API with every digit', async () => {
    const fx = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,line_id,product,start_date,end_date,amount,interval,currency',
        'BIG,L1,core,2025-01-01,,1234567.123456789012,monthly,USD',
        'SMALL,L2,core,2025-01-01,,0.1,monthly,USD',
        'SMALL,L3,core,2025-01-01,,0.2,monthly,USD',
        'OTHER,L4,core,2025-04-01,,5,monthly,USD',
      ),
      'accounts.csv': csv('account_id,name', 'BIG,Big Co', 'SMALL,Small Co', 'OTHER,Other Co'),
    });
    const w = await Workspace.open({ data: fx, signals: true });
    try {
      const a = createApp(w);
      const rows = ((await (await a.request('/api/accounts?sort=arr')).json()) as { rows: { account_id: string; mrr: unknown; arr: unknown }[] }).rows;
      expect(rows.map((r) => [r.account_id, r.mrr, r.arr])).toEqual([
        ['BIG', '1234567.123456789012', '14814805.481481468144'],
        ['OTHER', '5', '60'],
        ['SMALL', '0.3', '3.6'],
      ]);
      const detail = (await (await a.request('/api/accounts/BIG')).json()) as { explanation: { lines: { mrr_local: unknown; mrr: unknown }[]; history: { mrr: unknown }[] } };
      expect(detail.explanation.lines[0]).toMatchObject({ mrr_local: '1234567.123456789012', mrr: '1234567.123456789012' });
      expect(detail.explanation.history.at(-1)!.mrr).toBe('1234567.123456789012');
      // 1234567.123456789012 + 0.1 + 0.2, where floats would give 1234567.4234567890 at best.
      const text = await (await a.request('/api/metrics?window=1&month=2025-03')).text();
      expect(text).toContain('"starting_mrr":"1234567.423456789012"');
      const movements = (await (await a.request('/api/movements?account=BIG&from=2025-01&to=2025-01')).json()) as { rows: { category: string; delta: unknown }[] };
      expect(movements.rows).toMatchObject([{ category: 'new', delta: '1234567.123456789012' }]);
    } finally {
      w.close();
      removeDir(fx);
    }
  });
});
