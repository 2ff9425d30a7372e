import { z } from 'zod';
import { MOVEMENT_CATEGORIES } from '../engine/movements-model.js';
import { TASK_DUE, TASK_VIEW_STATUSES } from '../playbooks/task-views.js';
import { ENDPOINT_RESPONSES, RESPONSE_SCHEMAS } from './api-responses.js';
import { TASK_ACTIONS } from './task-actions.js';

/**
 * The API's query parameters: validated on every request (a 400 names the parameter, the value and
 * what was expected) and published as OpenAPI from the same schemas.
 */
const month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month as YYYY-MM')
  .describe('a month, YYYY-MM');
const int = (min: number, max: number, def: number) =>
  z.coerce
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(min, `expected ${min} or more`)
    .max(max, `expected ${max} or less`)
    .default(def);

export const ACCOUNT_SORTS = ['risk', 'arr', 'renewal', 'health', 'expansion'] as const;

export const QUERIES = {
  metrics: z
    .object({
      month: month.optional().describe("the window's last month (default: the reporting month)"),
      window: int(1, 36, 12).describe('months in the window: 1 monthly, 3 quarterly, 12 trailing twelve months'),
      by: z.string().min(1).optional().describe('an account attribute, product, acv_band, cohort_year or cohort_quarter'),
    })
    .strict(),
  movements: z
    .object({
      month: month.optional().describe('one month: the same as from and to'),
      from: month.optional().describe('first month (default: 12 months before the reporting month)'),
      to: month.optional().describe('last month (default: the reporting month)'),
      account: z.string().min(1).optional(),
      category: z.enum(MOVEMENT_CATEGORIES).optional(),
      limit: int(1, 100_000, 1000),
      compare: z.enum(['1']).optional().describe('1: also the totals of the prior period (as many months, ending the month before from)'),
    })
    .strict(),
  cohorts: z
    .object({
      granularity: z.enum(['month', 'quarter', 'year']).default('quarter'),
      month: month.optional().describe('the last month the table reads: cohorts that began by then, retention up to it (default: the reporting month)'),
    })
    .strict(),
  trend: z
    .object({
      to: month.optional().describe('last month (default: the reporting month)'),
      months: int(1, 120, 24).describe('months of trend, ending at to'),
    })
    .strict(),
  accounts: z
    .object({
      q: z.string().optional().describe('text in the id, name or owner'),
      month: month.optional().describe("the accounts as of this month's last day, scored on it as `nrr accounts --as-of` (default: the server's day)"),
      tier: z.string().optional(),
      health: z.enum(['red', 'yellow', 'green']).optional(),
      owner: z.string().optional(),
      segment: z.string().optional(),
      sort: z.enum(ACCOUNT_SORTS).default('risk'),
      limit: int(1, 100_000, 100),
      offset: int(0, 10_000_000, 0),
    })
    .strict(),
  tasks: z
    .object({
      owner: z.string().optional(),
      status: z.enum([...TASK_VIEW_STATUSES, 'all']).default('open').describe('snoozed: open, but snoozed until after the day'),
      due: z.enum(TASK_DUE).optional().describe('overdue: open and due before the day; week: open and due in the seven days from it'),
      due_from: month.optional().describe('only tasks due in this month or later'),
      due_to: month.optional().describe('only tasks due in this month or earlier'),
      playbook: z.string().optional(),
      account: z.string().optional(),
    })
    .strict(),
  taskSummary: z
    .object({
      owner: z.string().optional(),
      due_from: month.optional().describe('tasks due in this month or later (default: any)'),
      due_to: month.optional().describe('tasks due in this month or earlier (default: any)'),
      playbook: z.string().optional(),
      account: z.string().optional(),
      compare: z.enum(['1']).optional().describe('1: also the summary of the prior period (as many months, ending the month before due_from); needs due_from and due_to'),
    })
    .strict(),
  forecast: z
    .object({
      horizon: int(30, 180, 90).describe('days ahead (simulated in whole months: 90 days = 3 months)'),
      as_of: month.optional().describe('T: the month whose last day the forecast looks from (default: the reporting month)'),
      by: z.string().min(1).optional().describe('an account attribute to give the figures by as well'),
      accounts: z.enum(['all', 'none']).default('all').describe("none: without the list of every account (the downside keeps its ten): what a chart needs, a fraction of the size at a large company"),
    })
    .strict(),
  accountForecast: z
    .object({
      horizon: int(30, 180, 90).describe('days ahead (simulated in whole months: 90 days = 3 months)'),
    })
    .strict(),
  series: z
    .object({
      from: month.optional().describe('first month (default: the first month with revenue)'),
      to: month.optional().describe('last month (default: the reporting month)'),
    })
    .strict(),
  explain: z
    .object({
      account: z.string().min(1).describe('account id'),
      month: month.optional().describe('only what moved the MRR in this month, and the lines in force in it'),
    })
    .strict(),
  cohortAccounts: z.object({ limit: int(1, 100_000, 1000).describe('at most this many rows, largest start first (total counts them all)') }).strict(),
  renewals: z
    .object({
      from: month.optional().describe('first month of renewal dates (default: the month of the day)'),
      to: month.optional().describe('last month (default: two months after from)'),
      owner: z.string().optional().describe('only this CSM owner (case-insensitive)'),
      segment: z.string().optional(),
      limit: int(1, 100_000, 1000).describe('at most this many rows, soonest first (total and by_month count them all)'),
      compare: z.enum(['1']).optional().describe('1: also the renewals of the prior period (as many months before from), as the book stood as many months before the day'),
    })
    .strict(),
  book: z
    .object({
      owner: z.string().optional().describe('only this owner (case-insensitive)'),
      from: month.optional().describe("first month of the period whose churn and expansion each owner's row adds (default: 11 months before to)"),
      to: month.optional().describe('last month of the period (default: the reporting month); before the reporting month, the accounts and ARR are those of its last day'),
    })
    .strict(),
  diagnostics: z.object({}).strict(),
  none: z.object({}).strict(),
} as const;

/**
 * The endpoints that also take account filters: any attribute of the accounts as a parameter
 * (`?segment=enterprise&region=EMEA`), see /api/attributes and AccountFilter.
 */
export const FILTERED_QUERIES: ReadonlySet<QueryName> = new Set(['series', 'trend', 'metrics', 'movements', 'cohorts', 'accounts', 'cohortAccounts', 'tasks', 'taskSummary', 'renewals', 'book', 'forecast', 'diagnostics']);

export type QueryName = keyof typeof QUERIES;

/** `name: problem, got 'value'` for each issue, in one line. */
export function describeIssues(error: z.ZodError, input: Record<string, unknown>): string {
  return error.issues
    .map((i) => {
      const key = String(i.path[0] ?? '');
      if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      const got = input[key];
      return `${key}: ${i.message}${got !== undefined ? `, got '${String(got)}'` : ''}`;
    })
    .join('; ');
}

interface Endpoint {
  readonly path: string;
  readonly query: QueryName;
  readonly summary: string;
}

export const ENDPOINTS: readonly Endpoint[] = [
  { path: '/api/summary', query: 'none', summary: 'What was read: months, accounts, currencies, attributes to group by, benchmarks, policies' },
  { path: '/api/status', query: 'none', summary: 'The background work a page may wait on (scoring every account, the report, the backtest, each forecast): {jobs: [{job, what, status running/done/failed, seconds}]}' },
  { path: '/api/report', query: 'none', summary: 'The one-screen report: headline T12M/quarterly/monthly, bridge, 24-month trend, groups, cohorts, diagnostics' },
  { path: '/api/diagnostics', query: 'diagnostics', summary: "The report's diagnostics of the whole company or, with filters, of the matching accounts (each check reads only them): the accounts kept, the starting accounts behind the rates, a warning when they are few, each finding's scope, and the checks that do not apply with why" },
  { path: '/api/trend', query: 'trend', summary: 'T12M and monthly NRR and GRR for each month of a range, with the starting accounts behind each rate' },
  { path: '/api/metrics', query: 'metrics', summary: 'NRR, GRR, logo retention and the bridge for one window, overall or by a slice' },
  { path: '/api/movements', query: 'movements', summary: 'Movements (new, expansion, contraction, churn, reactivation) per account and month, largest first, with amount and the account\'s attributes: the rows behind a bar of the bridge; the totals per category and net new (amount, accounts, movements), and with compare=1 those of the prior period' },
  { path: '/api/explain', query: 'explain', summary: "An account's movements (in one month, or all) with the contract lines and usage rows behind each, their file and row" },
  { path: '/api/cohorts', query: 'cohorts', summary: 'Revenue and logo retention by first-revenue cohort' },
  { path: '/api/cohorts/{cohort}/accounts', query: 'cohortAccounts', summary: "A cohort's accounts (cohort 2024-03, 2024-Q1 or 2024): MRR at the end of its first period and now, attributes" },
  { path: '/api/accounts', query: 'accounts', summary: 'Accounts on the reporting day: ARR, tier, health, churn risk, renewal, owners' },
  { path: '/api/accounts/{id}', query: 'none', summary: 'One account: its record, health with reasons, MRR history, movements and source lines, tasks' },
  { path: '/api/accounts/{id}/timeline', query: 'none', summary: "An account's timeline, newest first: revenue movements, tickets, meetings, sponsors and contacts, milestones, opportunities, funding, plays and tasks; each {date, kind, title, detail, file, row}" },
  { path: '/api/accounts/{id}/history', query: 'none', summary: "An account's month-end MRR, ARR, health, churn risk, expansion readiness, seats and active users over 12 months, and which figures exclude usage" },
  { path: '/api/tasks', query: 'tasks', summary: 'Tasks opened by playbook runs, as they read on the day: open, snoozed, done or exited, overdue or not' },
  { path: '/api/tasks/summary', query: 'taskSummary', summary: 'The tasks due in a range of months: counts by status (overdue among the open), outcomes of the done, won saves and expansions, the accounts covered and their ARR; each rate with its count; with compare=1 the prior period\'s' },
  { path: '/api/renewals', query: 'renewals', summary: 'Renewals (contract ends) by date in a range of months: ARR, owner, segment, risk, health, 90-day churn probability, ARR at risk; and per month' },
  { path: '/api/book', query: 'book', summary: 'Book of business per owner: accounts, ARR, at-risk ARR, open and overdue tasks, renewals in the next 90 days' },
  { path: '/api/playbooks', query: 'none', summary: 'Plays, open tasks per owner, recent fired events, outcomes' },
  { path: '/api/playbooks/backtest', query: 'none', summary: 'Per play: fires, precision, recall of lost or gained ARR, lead time' },
  { path: '/api/series', query: 'series', summary: 'Company MRR, ARR, customers and the monthly bridge (new, expansion, reactivation, contraction, churn, net new), one row per month' },
  { path: '/api/attributes', query: 'none', summary: 'The attributes of the accounts offered as filters and groups, with their values (or date and number buckets) and account counts' },
  { path: '/api/forecast', query: 'forecast', summary: 'Forward NRR and GRR (P10/P50/P90) over the horizon, expected movements, accounts by expected loss with reasons; with filters, of the matching accounts (the model fitted on the whole company, `filter` says so with the counts)' },
  { path: '/api/forecast/accounts/{id}', query: 'accountForecast', summary: "One account's entry of the company forecast (its probabilities, expected loss and reasons; null without MRR at T), with the forecast's as_of and method" },
];

/** The OpenAPI 3.1 document, from the same schemas that validate requests. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const e of ENDPOINTS) {
    const schema = z.toJSONSchema(QUERIES[e.query], { io: 'input' }) as { properties?: Record<string, Record<string, unknown>> };
    const parameters: Record<string, unknown>[] = Object.entries(schema.properties ?? {}).map(([name, s]) => {
      const { description, ...rest } = s;
      return { name, in: 'query', required: false, description, schema: rest };
    });
    if (FILTERED_QUERIES.has(e.query)) {
      parameters.push({ name: 'filters', in: 'query', required: false, style: 'form', explode: true, description: 'any attribute of the accounts as a parameter (?segment=enterprise&region=EMEA): only the accounts whose attributes have those values; lo..hi for a number range, YYYY or YYYY-MM for dates (see /api/attributes)', schema: { type: 'object', additionalProperties: { type: 'string' } } });
    }
    if (e.path.includes('{id}')) parameters.unshift({ name: 'id', in: 'path', required: true, description: 'account id', schema: { type: 'string' } });
    if (e.path.includes('{cohort}')) parameters.unshift({ name: 'cohort', in: 'path', required: true, description: 'a cohort as the cohort table names it: 2024-03, 2024-Q1 or 2024', schema: { type: 'string' } });
    paths[e.path] = {
      get: {
        summary: e.summary,
        parameters,
        security: [{ bearer: [] }, {}],
        responses: {
          '200': {
            description: 'JSON; money as exact decimal strings, ratios as fractions (1.015 = 101.5 %)',
            ...(ENDPOINT_RESPONSES[e.path] ? { content: { 'application/json': { schema: ENDPOINT_RESPONSES[e.path] } } } : {}),
          },
          '400': { description: '{ "error": "month: expected a month as YYYY-MM, got \'2025-13\'" }' },
          '401': { description: 'a token is set and the request has none, or another' },
          '421': { description: 'no token is set and the request is addressed to a host name not on the allow-list' },
          '429': { description: 'too many wrong tokens from this address; Retry-After says when to try again' },
          ...(e.path.includes('{id}') ? { '404': { description: 'no such account' } } : {}),
        },
      },
    };
  }
  paths['/api/ingest/{source}'] = {
    post: {
      summary: 'Ingest one change into the workspace store: rows in the data contract of one source, and keys of rows to withdraw (docs/store.md)',
      parameters: [
        { name: 'source', in: 'path', required: true, description: 'subscriptions, usage, accounts or a signal source', schema: { type: 'string' } },
        { name: 'Idempotency-Key', in: 'header', required: false, description: 'names the batch: sent again, it is not applied twice', schema: { type: 'string' } },
      ],
      security: [{ bearer: [] }],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              oneOf: [
                {
                  type: 'object',
                  properties: {
                    rows: { type: 'array', items: { type: 'object' }, description: 'rows as in the data contract; a row with the key of one already there replaces it' },
                    withdraw: { type: 'array', items: { type: 'object' }, description: "keys of rows to remove, e.g. { line_id: 'L-3' }" },
                    batch_id: { type: 'string' },
                  },
                  additionalProperties: false,
                },
                { type: 'array', items: { type: 'object' } },
              ],
            },
          },
        },
      },
      responses: {
        '200': { description: '{ batch_id, source, already_applied, rows, replaced, withdrawn, accounts (recomputed), warnings, warning_count }' },
        '400': { description: '{ error, issues: [{ file, row, column, value, expected }], error_count }: nothing of the batch was applied' },
        '401': { description: 'no token, or another' },
        '403': { description: 'the server has no token: ingesting needs one' },
        '405': { description: 'the server does not answer from a store (--no-store)' },
        '413': { description: 'the body is larger than 16 MB' },
      },
    },
  };
  const bodies = Object.entries(TASK_ACTIONS).map(([name, a]) => ({ ...(z.toJSONSchema(a.body, { io: 'input' }) as Record<string, unknown>), title: name, examples: [JSON.parse(a.example) as unknown] }));
  paths['/api/tasks/{id}/{action}'] = {
    post: {
      summary: 'Act on a task: done {outcome, note?}, snooze {until}, reassign {owner}, note {text}; `nrr tasks` then reads the change',
      parameters: [
        { name: 'id', in: 'path', required: true, description: 'the task number', schema: { type: 'integer' } },
        { name: 'action', in: 'path', required: true, schema: { enum: Object.keys(TASK_ACTIONS) } },
      ],
      security: [{ bearer: [] }, {}],
      requestBody: { required: true, content: { 'application/json': { schema: { oneOf: bodies } } } },
      responses: {
        '200': { description: 'the task as it now reads (as a row of GET /api/tasks)' },
        '400': { description: `{ "error": "outcome: …, got 'maybe' (expected {"outcome": "won", …})" }: the body is not what the action takes` },
        '401': { description: 'a token is set and the request has none, or another' },
        '403': { description: 'no token is set and the request is not JSON, or comes from a page of another origin' },
        '404': { description: 'no such task, or no such action' },
        '409': { description: 'the task is already done or exited (snooze, reassign and done need an open task)' },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'NRR Engine API', version, description: 'Net revenue retention, its decomposition, account health and playbooks, as JSON.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: RESPONSE_SCHEMAS },
    paths,
  };
}
