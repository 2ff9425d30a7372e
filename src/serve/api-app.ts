import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { parse as parseLossless } from 'lossless-json';
import type { z } from 'zod';
import { monthEnd, monthIndex, monthText, shiftDay } from '../engine/months.js';
import { billingRows, type BillingRow } from '../queries/billing-queries.js';
import { Money } from '../money.js';
import { ownerPeriods } from '../queries/book-period-queries.js';
import { AT_RISK_RULE, books, renewals, type RenewalAccount } from '../queries/renewal-queries.js';
import { NrrError } from '../errors.js';
import type { ApplyResult, IngestBatch } from '../store/apply-batch.js';
import { ValidationError } from '../workspace/validation-report.js';
import type { Workspace } from '../workspace/workspace.js';
import { AnswerCache } from './answer-cache.js';
import { FILTERED_QUERIES, QUERIES, describeIssues, openApiDocument, type QueryName } from './api-schemas.js';
import type { AccountFilter } from '../engine/account-filter.js';
import { revenueSeries } from '../queries/series-queries.js';
import { filteredDiagnostics } from '../report/report-diagnostics.js';
import { retentionTrend } from '../queries/retention-trend-queries.js';
import { attributeChoices, filteredAccountIds } from '../queries/attribute-queries.js';
import { movementList, movementTotals } from '../queries/movement-queries.js';
import { accountTimeline } from '../queries/account-timeline-queries.js';
import { accountHistory } from '../queries/account-history-queries.js';
import { existsSync } from 'node:fs';
import { PlaybookState } from '../playbooks/playbook-state.js';
import { statePath } from '../playbooks/playbook-settings.js';
import { priorDueRange, summarizeTasks } from '../playbooks/task-summary.js';
import { taskView, viewTasks } from '../playbooks/task-views.js';
import { TASK_ACTIONS, tokenlessWriteRefusal, type TaskActionName } from './task-actions.js';
import { explainMonth } from '../queries/account-explain-queries.js';
import { cohortAccounts, cohortPeriod } from '../queries/cohort-account-queries.js';
import { DashboardData, type ChangeLog, type AccountRow } from './dashboard-data.js';
import { FailureLimiter } from './failure-limiter.js';
import { DEFAULT_ALLOWED_HOSTS, SECURITY_HEADERS, bearerMatches, checkTokenStrength, hostAllowed } from './http-security.js';
import { toJson } from './json-text.js';
import { serverTiming } from './server-timing.js';
import { BUILD_CACHE, StaticFiles, buildVersion, unversionedBuildPath, withModulePreloads } from './static-files.js';

/**
 * The HTTP API and the dashboard's files, on Web-standard Request/Response (Hono): tests call
 * `app.request('/api/…')` in-process, `startServer` puts it on a port.
 */
export interface AppOptions {
  /** When set, every /api request needs `Authorization: Bearer <token>`; at least 16 characters. */
  readonly token?: string;
  /**
   * Without a token, only requests whose `Host` names one of these (any port) are answered, so a
   * web page on another name that resolves to this machine (DNS rebinding) gets nothing.
   * Default: localhost, 127.0.0.1, [::1].
   */
  readonly allowedHosts?: readonly string[];
  /** Where answers are kept (default: 64 MiB; one answer above an eighth of it is not kept). */
  readonly answerCache?: AnswerCache;
  /** Wrong tokens allowed per client address and minute before a 429 (default 10). */
  readonly tokenFailures?: FailureLimiter;
  /** Applies an ingested batch (POST /api/ingest/<source>); without it the endpoint answers 405. */
  readonly ingest?: (batch: IngestBatch) => Promise<ApplyResult>;
  /** The live workspace's changes, when it serves one: account scores are then kept up to date per changed account. */
  readonly changes?: ChangeLog;
  /** Compute in the background what the pages ask for first (DashboardData.warmUp): a server's first app. */
  readonly warmUp?: boolean;
  /** Where the dashboard's files are kept in memory (default: one store for every app of the process). */
  readonly staticFiles?: StaticFiles;
  /** Takes a Stripe webhook (POST /webhooks/stripe: raw body, Stripe-Signature); without it the route answers 404. */
  readonly stripeWebhook?: (body: Uint8Array, signature: string | undefined) => Promise<{ status: 200 | 400 | 500; body: unknown }>;
}

/** The largest request body POST /api/ingest takes. */
export const MAX_INGEST_BYTES = 16 * 1024 * 1024;

/** The filters whose accounts are kept as sets (the least recently used go first). */
const KEPT_FILTERS = 16;

/** The default bound of the answer cache. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const ECHARTS = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
/** The dashboard's files, read once for every app of the process (a live workspace makes a new app per state). */
const SHARED_FILES = new StaticFiles();
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

class HttpError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** Sorted account lists kept (per day and sort). */
const KEPT_SORTS = 10;

/** Accounts read from their lines alone (a past day, or before they are scored): no health or risk. */
const unscored = (rows: readonly BillingRow[]): RenewalAccount[] => rows.map((b) => ({ ...b, health: null, health_colour: null, churn_risk: null }));

/**
 * The app for one open workspace.
 * @example const app = createApp(ws); const res = await app.request('/api/metrics?window=12');
 */

export function createApp(ws: Workspace, options: AppOptions = {}): Hono {
  const { token } = options;
  if (token !== undefined) checkTokenStrength(token, 'the API token');
  const allowedHosts = options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS;
  const failures = options.tokenFailures ?? new FailureLimiter(10, 60_000);
  const answers = options.answerCache ?? new AnswerCache(DEFAULT_CACHE_BYTES);
  const data = new DashboardData(ws, options.changes ?? null);
  if (options.warmUp) data.warmUp().catch(() => undefined);
  const sortCache = new Map<string, AccountRow[]>();
  const keptSets = new Map<string, Promise<Set<string>>>();
  const files = options.staticFiles ?? SHARED_FILES;
  const app = new Hono();
  const jsonText = (c: Context, text: string) => c.body(text, 200, JSON_TYPE);
  const json = (c: Context, value: unknown) => jsonText(c, toJson(value));
  /** The answer for this request's path and validated parameters, from the cache or computed. */
  const cached = async (c: Context, params: unknown, compute: () => Promise<unknown>) =>
    jsonText(c, await answers.get(`${c.req.path}?${JSON.stringify(params)}`, async () => toJson(await compute())));
  const query = <K extends QueryName>(c: Context, name: K): z.infer<(typeof QUERIES)[K]> & { where?: AccountFilter } => {
    const input: Record<string, string> = {};
    const where: Record<string, string> = {};
    const own = QUERIES[name].shape as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.req.query())) {
      // Any attribute of the accounts filters the endpoints that take filters (its own parameters come first).
      if (FILTERED_QUERIES.has(name) && !(k in own) && ws.attributes.includes(k)) {
        if (c.req.queries(k)!.length > 1) throw new HttpError(400, `${k}: one value per attribute, got ${c.req.queries(k)!.length}`);
        where[k] = v;
      } else input[k] = v;
    }
    const parsed = QUERIES[name].safeParse(input);
    if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error, input));
    return { ...(parsed.data as z.infer<(typeof QUERIES)[K]>), ...(Object.keys(where).length > 0 ? { where } : {}) };
  };
  /** The ids of the accounts a filter keeps (null: no filter), computed once per filter. */
  const keptAccounts = (where: AccountFilter | undefined): Promise<Set<string> | null> => {
    if (where === undefined) return Promise.resolve(null);
    // Kept as sets (not as JSON text to parse again per request), the last few filters only.
    const key = JSON.stringify(where);
    let hit = keptSets.get(key);
    if (hit) keptSets.delete(key);
    else {
      hit = data.serial(() => filteredAccountIds(ws, where)).then((ids) => new Set(ids));
      hit.catch(() => keptSets.delete(key));
    }
    keptSets.set(key, hit);
    if (keptSets.size > KEPT_FILTERS) keptSets.delete(keptSets.keys().next().value!);
    return hit;
  };
  const checkMonth = (name: string, m: string | undefined): number | undefined => {
    if (m === undefined) return undefined;
    const i = monthIndex(m);
    if (i > ws.asOfMonth) throw new HttpError(400, `${name}: ${m} is after the reporting month ${ws.summary.asOf}`);
    return i;
  };

  app.use('*', async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });
  app.use('*', async (c, next) => {
    if (token) return next();
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    if (!hostAllowed(host, allowedHosts)) {
      // The reason, not the list: configured names may be internal ones.
      return c.text('421 Misdirected Request: this server answers only requests addressed to its own names (localhost, 127.0.0.1, [::1]; nrr serve --allow-host adds one)\n', 421);
    }
    return next();
  });
  app.use('*', compress());
  app.use('/api/*', async (c, next) => {
    if (!token) return next();
    const client = clientAddress(c);
    const wait = failures.retryAfterMs(client);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      return c.json({ error: `too many wrong tokens from this address: try again in ${seconds} s` }, 429, { 'retry-after': String(seconds) });
    }
    const header = c.req.header('authorization');
    if (!bearerMatches(header, token)) {
      if (header !== undefined) failures.fail(client);
      return c.json({ error: 'this server needs a token: send Authorization: Bearer <token>' }, 401, { 'www-authenticate': 'Bearer' });
    }
    return next();
  });
  app.use('/api/*', serverTiming());

  app.get('/api/openapi.json', (c) => c.json(openApiDocument('0.1.0')));
  app.get('/api/summary', (c) => (query(c, 'none'), json(c, data.summary())));
  app.get('/api/status', (c) => (query(c, 'none'), json(c, { jobs: data.background() })));
  app.get('/api/report', async (c) => (query(c, 'none'), json(c, await data.report())));
  app.get('/api/diagnostics', async (c) => {
    const q = query(c, 'diagnostics');
    // The company's once (as the report's); a filter's kept with the other answers.
    if (q.where === undefined) return json(c, await data.diagnostics());
    return cached(c, q, () => data.aside((own) => filteredDiagnostics(own, q.where)));
  });
  app.get('/api/metrics', async (c) => {
    const q = query(c, 'metrics');
    checkMonth('month', q.month);
    if (q.by !== undefined) {
      const allowed = data.summary()['group_by'] as string[];
      if (!allowed.includes(q.by) && q.by !== 'cohort') throw new HttpError(400, `by: expected one of ${allowed.join(', ')}, got '${q.by}'`);
    }
    return cached(c, q, () => data.metrics(q));
  });
  app.get('/api/movements', async (c) => {
    const q = query(c, 'movements');
    if (q.month !== undefined && (q.from !== undefined || q.to !== undefined)) throw new HttpError(400, 'month: give month, or from and to, not both');
    const to = checkMonth('to', q.to ?? q.month) ?? ws.asOfMonth;
    const from = checkMonth('from', q.from ?? q.month) ?? to - 11;
    if (from > to) throw new HttpError(400, `from: ${q.from} is after to (${q.to ?? ws.summary.asOf})`);
    // The prior period: as many months, ending the month before `from`; null when it is all before the data.
    const before = { from: from - (to - from + 1), to: from - 1 };
    const hasPrior = q.compare === '1' && ws.firstMonth !== null && before.to >= ws.firstMonth;
    return cached(c, q, async () => {
      const { total, rows } = await data.serial(() => movementList(ws, { from, to, account: q.account, category: q.category as never, where: q.where, limit: q.limit }));
      const totals = await data.serial(() => movementTotals(ws, { from, to, account: q.account, where: q.where }));
      const prior = hasPrior
        ? { from: monthText(before.from), to: monthText(before.to), starts_before_data: before.from < ws.firstMonth!, totals: await data.serial(() => movementTotals(ws, { ...before, account: q.account, where: q.where })) }
        : null;
      return { from: monthText(from), to: monthText(to), total, rows, totals, ...(q.compare === '1' ? { prior } : {}) };
    });
  });
  app.get('/api/explain', async (c) => {
    const q = query(c, 'explain');
    checkMonth('month', q.month);
    try {
      return await cached(c, q, () => data.serial(() => explainMonth(ws, q.account, q.month)));
    } catch (e) {
      if (e instanceof NrrError) throw new HttpError(404, e.message);
      throw e;
    }
  });
  app.get('/api/cohorts', async (c) => {
    const q = query(c, 'cohorts');
    const through = checkMonth('month', q.month);
    return json(c, { granularity: q.granularity, month: q.month ?? ws.summary.asOf, rows: await data.cohorts(q.granularity, q.where, through) });
  });
  app.get('/api/cohorts/:cohort/accounts', async (c) => {
    const q = query(c, 'cohortAccounts');
    const cohort = c.req.param('cohort');
    if (cohortPeriod(cohort) === null) throw new HttpError(400, `cohort: expected a month (2024-03), a quarter (2024-Q1) or a year (2024), got '${cohort}'`);
    return cached(c, { cohort, ...q }, async () => {
      const rows = await data.serial(() => cohortAccounts(ws, cohort, q.where));
      return { cohort, total: rows.length, rows: rows.slice(0, q.limit) };
    });
  });
  app.get('/api/accounts', async (c) => {
    const q = query(c, 'accounts');
    const needle = q.q?.toLowerCase();
    // A month before the reporting month: its last day's accounts, scored on that day.
    const day = q.month !== undefined && checkMonth('month', q.month)! < ws.asOfMonth ? monthEnd(monthIndex(q.month)) : data.asOfDate;
    const sortKey = `${day}:${q.sort}`;
    let sorted = sortCache.get(sortKey);
    if (!sorted) {
      sortCache.set(sortKey, (sorted = sortAccounts(await data.accountsOn(day), q.sort)));
      // The lists of the last few days and sorts only (each holds every account).
      if (sortCache.size > KEPT_SORTS) sortCache.delete(sortCache.keys().next().value!);
    }
    const kept = await keptAccounts(q.where);
    const rows = sorted.filter(
      (a) =>
        (kept === null || kept.has(a.account_id)) &&
        (!q.tier || a.tier === q.tier || a.tier === `Tier ${q.tier}`) &&
        (!q.health || a.health_colour === q.health) &&
        (!q.segment || a.segment === q.segment) &&
        (!q.owner || [a.csm_owner, a.am_owner].some((o) => o?.toLowerCase() === q.owner!.toLowerCase())) &&
        (!needle || [a.account_id, a.name, a.csm_owner, a.am_owner].some((v) => v?.toLowerCase().includes(needle))),
    );
    const page =
      day === data.asOfDate
        ? data.withProbabilities(rows.slice(q.offset, q.offset + q.limit))
        : { status: 'unavailable' as const, note: `no probabilities: the forecast's are fitted for ${data.asOfDate} (\`nrr accounts --as-of ${q.month}\` fits them for ${day})`, rows: rows.slice(q.offset, q.offset + q.limit) };
    return json(c, { as_of: day, total: rows.length, probabilities: { status: page.status, note: page.note }, rows: page.rows });
  });
  app.get('/api/accounts/:id', async (c) => {
    query(c, 'none');
    const id = c.req.param('id');
    let explanation: string;
    try {
      // The explanation is kept as text; the row, scores and tasks are read fresh (tasks change).
      explanation = await answers.get(`explain?${id}`, async () => toJson(await data.explanation(id)));
    } catch (e) {
      if (e instanceof NrrError) throw new HttpError(404, e.message);
      throw e;
    }
    return jsonText(c, `${toJson(await data.accountState(id)).slice(0, -1)},"explanation":${explanation}}`);
  });
  /** 404 unless the account is in the accounts file or has lines. */
  const knownAccount = async (id: string): Promise<void> => {
    const q = ws.driver.dialect.quoteString(id);
    const hit = await data.serial(() => ws.query(`SELECT 1 FROM accounts WHERE account_id = ${q} UNION ALL SELECT 1 FROM lines WHERE account_id = ${q} LIMIT 1`));
    if (hit.length === 0) throw new HttpError(404, `no account '${id}' in the accounts or the contract lines`);
  };
  app.get('/api/accounts/:id/timeline', async (c) => {
    query(c, 'none');
    const id = c.req.param('id');
    await knownAccount(id);
    // Kept per account and play state (its plays and tasks are part of the timeline).
    return cached(c, { id, plays: data.playStateStamp() }, () => accountTimelineAnswer(id));
  });
  const accountTimelineAnswer = async (id: string) => {
    const path = statePath(ws.dataDir, ws.scoring.playbookSettings);
    const plays = existsSync(path)
      ? await PlaybookState.using(path, { readOnly: true }, async (s) => {
          const tasks = await s.tasks({ account: id });
          const mine = new Set(tasks.map((t) => t.task_id));
          return { tasks, events: await s.events({ account: id, limit: 500 }), actions: (await s.taskActions()).filter((a) => mine.has(a.task_id)) };
        })
      : { tasks: [], events: [], actions: [] };
    const events = await data.serial(() => accountTimeline(ws, id, data.asOfDate, plays));
    return { account_id: id, as_of: data.asOfDate, total: events.length, events };
  };
  app.get('/api/accounts/:id/history', async (c) => {
    query(c, 'none');
    const id = c.req.param('id');
    await knownAccount(id);
    return cached(c, { id }, () => data.serial(() => accountHistory(ws, id)));
  });
  app.get('/api/tasks', async (c) => {
    const q = query(c, 'tasks');
    if (q.due_from !== undefined && q.due_to !== undefined && q.due_from > q.due_to) throw new HttpError(400, `due_from: ${q.due_from} is after due_to (${q.due_to})`);
    const kept = await keptAccounts(q.where);
    const rows = viewTasks(await data.tasks({ owner: q.owner, playbook: q.playbook, account: q.account }), { status: q.status, due: q.due, dueFrom: q.due_from, dueTo: q.due_to }, data.asOfDate).filter((t) => kept === null || kept.has(t.account_id));
    return json(c, { as_of: data.asOfDate, total: rows.length, rows });
  });
  /** Each account's ARR on the day, built once from the day's billing rows (100,000 accounts: a tenth of a second). */
  const arrByAccount = new WeakMap<readonly BillingRow[], Map<string, Money>>();
  const arrOf = async (): Promise<Map<string, Money>> => {
    const rows = await data.billing();
    let arr = arrByAccount.get(rows);
    if (!arr) arrByAccount.set(rows, (arr = new Map(rows.map((b) => [b.account_id, b.arr]))));
    return arr;
  };
  app.get('/api/tasks/summary', async (c) => {
    const q = query(c, 'taskSummary');
    if (q.due_from !== undefined && q.due_to !== undefined && q.due_from > q.due_to) throw new HttpError(400, `due_from: ${q.due_from} is after due_to (${q.due_to})`);
    if (q.compare === '1' && (q.due_from === undefined || q.due_to === undefined)) throw new HttpError(400, 'compare: needs due_from and due_to (the prior period is as many months, ending the month before due_from)');
    // Kept per parameters and play state (tasks change); the ARR is the day's, read once.
    return cached(c, { ...q, plays: data.playStateStamp() }, async () => {
      const kept = await keptAccounts(q.where);
      const all = (await data.tasks({ owner: q.owner, playbook: q.playbook, account: q.account })).filter((t) => kept === null || kept.has(t.account_id));
      const arr = await arrOf();
      const summary = (from: string | undefined, to: string | undefined) => summarizeTasks(viewTasks(all, { status: 'all', dueFrom: from, dueTo: to }, data.asOfDate), arr, { from, to });
      const prior = q.compare === '1' ? priorDueRange(q.due_from!, q.due_to!) : null;
      return { as_of: data.asOfDate, arr_as_of: data.asOfDate, summary: summary(q.due_from, q.due_to), ...(prior ? { prior: summary(prior.from, prior.to) } : {}) };
    });
  });
  /**
   * The accounts renewals and books read: with their scores once every account is scored; until
   * then at once, from the lines alone (risk and health null), saying so.
   */
  const csAccounts = async (): Promise<{ rows: RenewalAccount[]; scores: { status: 'ready' | 'computing'; note: string | null } }> => {
    const scored = data.accountsIfScored(false);
    if (scored !== null) return { rows: scored, scores: { status: 'ready', note: null } };
    const rows = unscored(await data.billing());
    // The scoring starts once this answer has its rows: it would slow this answer down.
    data.accountsIfScored(true);
    return { rows, scores: { status: 'computing', note: 'every account is being scored: risk, health and at-risk ARR follow when it is done' } };
  };
  /**
   * The renewals of the period as many months before `range`, as the book stood as many months
   * before the day (the same page, that much earlier): their count and ARR, from the lines of that
   * day with the same filters. Null when that day is before the data.
   */
  const priorRenewals = async (range: { from: string; to: string }, keep: (a: BillingRow) => boolean) => {
    const n = monthIndex(range.to) - monthIndex(range.from) + 1;
    const day = shiftDay(data.asOfDate, -n);
    if (ws.firstMonth === null || monthIndex(day.slice(0, 7)) < ws.firstMonth) return null;
    const before = { from: monthText(monthIndex(range.from) - n), to: monthText(monthIndex(range.from) - 1) };
    const accounts = unscored((await data.serial(() => billingRows(ws, day))).filter(keep));
    const { rows } = renewals(accounts, before, null);
    return { ...before, as_of: day, accounts: rows.length, arr: Money.sum(rows.map((r) => r.arr)) };
  };
  app.get('/api/renewals', async (c) => {
    const q = query(c, 'renewals');
    const from = q.from ?? data.asOfDate.slice(0, 7);
    const to = q.to ?? monthText(monthIndex(from) + 2);
    if (monthIndex(from) > monthIndex(to)) throw new HttpError(400, `from: ${from} is after to (${to})`);
    if (monthIndex(to) - monthIndex(from) > 36) throw new HttpError(400, `to: at most 36 months after from, got ${from} → ${to}`);
    const forecast = data.churnProbabilities(false);
    // Kept per parameters and per what the answer is made of: the scores and the forecast, ready or not.
    const state = { scored: data.accountsIfScored(false) !== null, forecast: forecast.status };
    const text = await answers.get(`${c.req.path}?${JSON.stringify({ ...q, from, to, ...state })}`, async () => {
      const owner = q.owner?.toLowerCase();
      const kept = await keptAccounts(q.where);
      const { rows: all, scores } = await csAccounts();
      const keep = (a: Pick<BillingRow, 'csm_owner' | 'segment' | 'account_id'>): boolean => (owner === undefined || a.csm_owner?.toLowerCase() === owner) && (q.segment === undefined || a.segment === q.segment) && (kept === null || kept.has(a.account_id));
      const { rows, by_month } = renewals(all.filter(keep), { from, to }, forecast.probabilities);
      const prior = q.compare === '1' ? await priorRenewals({ from, to }, keep) : undefined;
      return toJson({ as_of: data.asOfDate, from, to, scores, forecast: { status: forecast.status, note: forecast.note }, at_risk_rule: AT_RISK_RULE, total: rows.length, by_month, ...(prior === undefined ? {} : { prior }), rows: rows.slice(0, q.limit) });
    });
    // The forecast, too, starts after the rows (it takes a while on a large company).
    data.churnProbabilities(true);
    return jsonText(c, text);
  });
  app.get('/api/book', async (c) => {
    const q = query(c, 'book');
    const to = checkMonth('to', q.to) ?? ws.asOfMonth;
    const from = checkMonth('from', q.from) ?? to - 11;
    if (from > to) throw new HttpError(400, `from: ${q.from} is after to (${monthText(to)})`);
    // Kept per parameters, play state (tasks change) and whether the scores are ready.
    const key = { ...q, scored: data.accountsIfScored(false) !== null, plays: data.playStateStamp() };
    return cached(c, key, async () => {
      const kept = await keptAccounts(q.where);
      const tasks = viewTasks(await data.tasks({}), { status: 'all' }, data.asOfDate).filter((t) => kept === null || kept.has(t.account_id));
      // Before the reporting month the book is that month's last day's: from the lines, not scored.
      const past = to < ws.asOfMonth ? monthEnd(to) : null;
      const { rows: all, scores } = past === null ? await csAccounts() : { rows: unscored(await data.serial(() => billingRows(ws, past))), scores: { status: 'unscored' as const, note: `the scores are kept for ${data.asOfDate} only: \`nrr book --as-of ${monthText(to)}\` scores ${past}` } };
      const periods = await data.serial(() => ownerPeriods(ws, { from, to, where: q.where }));
      const rows = books(kept === null ? all : all.filter((a) => kept.has(a.account_id)), tasks, q.owner, periods);
      return { as_of: past ?? data.asOfDate, from: monthText(from), to: monthText(to), scores, at_risk_rule: AT_RISK_RULE, total: rows.length, rows };
    });
  });
  app.post('/api/tasks/:id/:action', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: 'the body is larger than 64 KB' }, 413) }), async (c) => {
    const name = c.req.param('action');
    if (!Object.hasOwn(TASK_ACTIONS, name)) throw new HttpError(404, `no such task action: ${name} (done, snooze, reassign, note)`);
    const action = TASK_ACTIONS[name as TaskActionName];
    if (!token) {
      const refusal = tokenlessWriteRefusal(c.req.header('content-type'), c.req.header('origin'), c.req.header('host') ?? new URL(c.req.url).host);
      if (refusal !== null) throw new HttpError(403, refusal);
    }
    const id = Number(c.req.param('id'));
    if (!Number.isInteger(id) || id < 1) throw new HttpError(404, `no task '${c.req.param('id')}': task ids are whole numbers`);
    let raw: unknown;
    try {
      raw = JSON.parse(await c.req.text());
    } catch {
      throw new HttpError(400, `the body is not JSON: expected ${action.example}`);
    }
    const body = action.body.safeParse(raw);
    if (!body.success) throw new HttpError(400, `${describeIssues(body.error, (raw ?? {}) as Record<string, unknown>)} (expected ${action.example})`);
    const path = statePath(ws.dataDir, ws.scoring.playbookSettings);
    if (!existsSync(path)) throw new HttpError(404, `no task ${id}: there is no play state yet (run nrr playbooks run)`);
    try {
      const task = await PlaybookState.using(path, {}, (s) => action.run(s, id, body.data as never, data.asOfDate));
      return json(c, taskView(task, data.asOfDate));
    } catch (e) {
      if (e instanceof NrrError && /^no task /.test(e.message)) throw new HttpError(404, e.message.replace(/ in \S+$/, ''));
      if (e instanceof NrrError && / is already /.test(e.message)) throw new HttpError(409, e.message);
      throw e;
    }
  });
  app.get('/api/playbooks', async (c) => (query(c, 'none'), json(c, await data.playbooks())));
  app.get('/api/playbooks/backtest', async (c) => (query(c, 'none'), jsonText(c, await data.backtestText())));
  app.get('/api/forecast', async (c) => {
    const q = query(c, 'forecast');
    checkMonth('as_of', q.as_of);
    if (q.by !== undefined && !ws.attributes.includes(q.by)) throw new HttpError(400, `by: expected one of ${ws.attributes.join(', ')}, got '${q.by}'`);
    // Computed in the background (forecast-runner.ts): the other pages are answered meanwhile.
    const f = await data.forecasts.forecast({ horizonDays: q.horizon, asOf: q.as_of, by: q.by, ...(q.where ? { where: q.where } : {}) });
    return jsonText(c, q.accounts === 'none' ? f.summaryText : f.text);
  });
  app.get('/api/forecast/accounts/:id', async (c) => {
    const q = query(c, 'accountForecast');
    const id = c.req.param('id');
    await knownAccount(id);
    const f = await data.forecasts.forecast({ horizonDays: q.horizon });
    return jsonText(c, `{"as_of":${JSON.stringify(f.as_of)},"method":${JSON.stringify(f.method)},"horizon_days":${q.horizon},"account":${f.accounts.get(id) ?? 'null'}}`);
  });
  app.get('/api/series', async (c) => {
    const q = query(c, 'series');
    checkMonth('from', q.from);
    checkMonth('to', q.to);
    return cached(c, q, async () => (await data.serial(() => revenueSeries(ws, q))).rows);
  });
  app.get('/api/trend', async (c) => {
    const q = query(c, 'trend');
    const to = checkMonth('to', q.to);
    // Drawn after the rest of Overview: on a connection of its own, so the reads of the page opened next do not wait for it.
    return cached(c, q, () => data.aside((own) => retentionTrend(own, { to, months: q.months, where: q.where })));
  });
  app.get('/api/attributes', async (c) => (query(c, 'none'), cached(c, {}, () => data.serial(() => attributeChoices(ws)))));
  app.post(
    '/api/ingest/:source',
    bodyLimit({ maxSize: MAX_INGEST_BYTES, onError: (c) => c.json({ error: `the body is larger than ${MAX_INGEST_BYTES / 1024 / 1024} MB: send smaller batches` }, 413) }),
    async (c) => {
      if (!options.ingest) throw new HttpError(405, 'this server does not take ingested changes: serve a workspace with its store (without --no-store)');
      // Writes need the token even on loopback: a web page can send a POST to 127.0.0.1, not an Authorization header.
      if (!token) throw new HttpError(403, 'ingesting needs a token: start the server with NRR_API_TOKEN set, and send Authorization: Bearer <token>');
      const body = ingestBody(await c.req.text());
      const batchId = c.req.header('idempotency-key') ?? body.batch_id;
      try {
        return json(c, await options.ingest({ source: c.req.param('source'), rows: body.rows, withdraw: body.withdraw, ...(batchId === undefined ? {} : { batchId }) }));
      } catch (e) {
        if (e instanceof ValidationError) {
          const error = `the batch has ${e.errorCount} invalid value${e.errorCount === 1 ? '' : 's'}; nothing was applied`;
          return c.json({ error, issues: e.issues, error_count: e.errorCount }, 400);
        }
        throw e;
      }
    },
  );
  app.all('/api/*', (c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path} (see /api/openapi.json)` }, 404));
  // Stripe's webhooks: not behind the API token, the Stripe-Signature over the raw body is the authentication.
  app.post(
    '/webhooks/stripe',
    bodyLimit({ maxSize: MAX_INGEST_BYTES, onError: (c) => c.json({ error: 'the body is larger than a Stripe event' }, 413) }),
    async (c) => {
      if (!options.stripeWebhook) return c.json({ error: 'Stripe webhooks are off: start nrr serve with STRIPE_WEBHOOK_SECRET set (docs/stripe.md)' }, 404);
      const r = await options.stripeWebhook(new Uint8Array(await c.req.arrayBuffer()), c.req.header('stripe-signature'));
      return c.json(r.body as object, r.status);
    },
  );

  const fileAnswer = (c: Context, file: string, cacheControl?: string, transform?: { stamp: string; apply: (text: string) => string }) => {
    const a = files.answer(file, TYPES[extname(file)] ?? 'application/octet-stream', { ifNoneMatch: c.req.header('if-none-match'), acceptEncoding: c.req.header('accept-encoding') }, cacheControl, transform);
    return a.body === null ? c.body(null, 304, a.headers) : c.body(a.body, 200, a.headers);
  };
  app.get('/vendor/echarts.min.js', (c) => fileAnswer(c, ECHARTS, 'max-age=86400'));
  app.get('*', (c) => {
    // Files of the dashboard; every other path is a page of the single-page app.
    const asked = normalize(c.req.path).replace(/^[/\\]+/, '');
    const versioned = unversionedBuildPath(asked);
    const rel = versioned ?? asked;
    const file = TYPES[extname(rel)] && !rel.includes('..') ? join(WEB_DIR, rel) : join(WEB_DIR, 'index.html');
    try {
      if (versioned !== null) return fileAnswer(c, file, BUILD_CACHE);
      if (!file.endsWith('index.html')) return fileAnswer(c, file, 'no-cache');
      const build = join(WEB_DIR, 'build');
      const version = buildVersion(build);
      return fileAnswer(c, file, 'no-cache', { stamp: version, apply: (html) => withModulePreloads(html, build, version) });
    } catch {
      return c.text('not found', 404);
    }
  });

  app.onError((e, c) => {
    if (e instanceof HttpError) return c.json({ error: e.message }, e.status);
    if (e instanceof NrrError) return c.json({ error: e.message }, 400);
    process.stderr.write(`internal error on ${c.req.method} ${c.req.path}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return c.json({ error: 'internal error (logged by the server)' }, 500);
  });
  return app;
}

/**
 * The body of POST /api/ingest: { rows, withdraw, batch_id }, or a list of rows. Numbers keep the
 * digits they were written with (never read through a double): money is checked as written.
 */
function ingestBody(text: string): { rows?: Record<string, unknown>[]; withdraw?: Record<string, unknown>[]; batch_id?: string } {
  let value: unknown;
  try {
    value = parseLossless(text);
  } catch (e) {
    throw new HttpError(400, `the body is not JSON (${e instanceof Error ? e.message : String(e)}): expected {"rows": [...], "withdraw": [...]} or a list of rows`);
  }
  if (Array.isArray(value)) return { rows: value as Record<string, unknown>[] };
  if (value === null || typeof value !== 'object') throw new HttpError(400, 'expected {"rows": [...], "withdraw": [...]} or a list of rows');
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !['rows', 'withdraw', 'batch_id'].includes(k));
  if (unknown.length > 0) throw new HttpError(400, `${unknown.map((k) => `'${k}'`).join(', ')}: expected only rows, withdraw and batch_id`);
  if (o['batch_id'] !== undefined && typeof o['batch_id'] !== 'string') throw new HttpError(400, 'batch_id: expected text');
  return o as { rows?: Record<string, unknown>[]; withdraw?: Record<string, unknown>[]; batch_id?: string };
}

export { toJson };

/** The peer's address on a real socket (@hono/node-server passes it as env.incoming); 'local' in-process. */
function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'local';
}

const SORT_KEYS: Record<string, (a: AccountRow) => number> = {
  risk: (a) => -(a.churn_risk ?? -1), // not scored: after every score
  arr: () => 0, // by ARR: the tie-break below, exact
  renewal: (a) => a.days_to_renewal ?? Number.MAX_SAFE_INTEGER,
  health: (a) => a.health ?? 101,
  expansion: (a) => -(a.expansion_readiness ?? -1),
};

/** Sorted by `by`, then by ARR and id. */
function sortAccounts(rows: readonly AccountRow[], by: string): AccountRow[] {
  const key = SORT_KEYS[by]!;
  const keyed = rows.map((r) => ({ r, k: key(r) }));
  keyed.sort((a, b) => a.k - b.k || b.r.arr.cmp(a.r.arr) || a.r.account_id.localeCompare(b.r.account_id));
  return keyed.map((x) => x.r);
}
