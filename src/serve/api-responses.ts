/**
 * The API's answers as JSON Schema, published in the OpenAPI document. Money is always `Money`:
 * exact decimal text with every digit the engine computed; ratios are fractions (`Ratio`).
 * test/serve-api.test.ts checks every endpoint's answer against these.
 */
type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string): Schema => ({ type: [type, 'null'] });
const array = (items: Schema): Schema => ({ type: 'array', items });
const object = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, required: Object.keys(properties), ...extra });
const money = ref('Money');
const ratio = ref('Ratio');
const text = { type: 'string' };
const int = { type: 'integer' };

export const RESPONSE_SCHEMAS: Record<string, Schema> = {
  Money: {
    type: 'string',
    pattern: '^-?\\d+(\\.\\d+)?$',
    description: 'An exact decimal amount as text, never rounded (up to 12 places): parse it as a decimal, not a float.',
    examples: ['1234567.123456789012', '-250', '0'],
  },
  NullableMoney: { anyOf: [money, { type: 'null' }] },
  MovementTotal: object({
    amount: { ...money, description: 'signed sum: contraction and churn are negative' },
    accounts: { ...int, description: 'distinct accounts with such a movement in the period' },
    movements: int,
  }),
  MovementTotals: object(
    {
      new: ref('MovementTotal'),
      expansion: ref('MovementTotal'),
      reactivation: ref('MovementTotal'),
      contraction: ref('MovementTotal'),
      churn: ref('MovementTotal'),
      net_new: {
        allOf: [ref('MovementTotal'), object({ customers: { ...int, description: 'new and reactivation movements less churn ones: the change in customers' } })],
        description: 'every category: amount = new + expansion + reactivation − contraction − churn; accounts with any movement',
      },
    },
    { description: "The movements of a period per category, over every category whatever `category` lists: `nrr movements` for those months, summed" },
  ),
  Ratio: { type: ['number', 'null'], description: 'A fraction: 1.015 means 101.5 %. Null when its base is empty.' },
  Metrics: object(
    {
      month: text,
      window: int,
      starting_mrr: money,
      ending_mrr: money,
      expansion: money,
      contraction: money,
      churn: money,
      fx: money,
      nrr: ratio,
      grr: ratio,
      logo_retention: ratio,
      starting_accounts: int,
      retained_accounts: int,
      largest_account_share: ratio,
    },
    { description: 'One window, overall or for one `group` (present when sliced).' },
  ),
  Movement: object({ account_id: text, month: text, category: text, mrr_before: money, mrr_after: money, delta: money, fx: money }),
  Cohort: object({ cohort: text, accounts: int, starting_mrr: money, retention: array(ratio), logo_retention: array({ type: 'number' }) }),
  AccountRow: object({
    account_id: text,
    name: nullable('string'),
    segment: nullable('string'),
    tier: text,
    arr: money,
    mrr: money,
    health: nullable('number'),
    health_colour: nullable('string'),
    churn_risk: { type: 'number' },
    expansion_readiness: { type: 'number' },
    renewal_date: nullable('string'),
    days_to_renewal: nullable('integer'),
    churn_probability_90d: { ...nullable('number'), description: "The forecast's probability (0–1) of churn in the 90 days after the last month-end; null when the model could not be fitted." },
    expansion_probability_90d: { ...nullable('number'), description: "The forecast's probability (0–1) of an expansion in the 90 days after the last month-end; null when the model could not be fitted." },
  }),
  AccountRecord: object({ account_id: text, mrr: money, arr: money, last_funding_amount: ref('NullableMoney'), open_expansion_pipeline: money }),
  AccountExplanation: object({
    account_id: text,
    lines: array(object({ source: text, id: text, row: int, product: text, currency: text, mrr_local: money, mrr: money })),
    history: array(object({ month: text, mrr: money })),
    movements: array({ allOf: [ref('Movement'), object({ lines: array(object({ id: text, effect: text, product: text, mrr: money })) })] }),
  }),
  AccountDetail: object({
    as_of: text,
    account: { anyOf: [ref('AccountRow'), { type: 'null' }] },
    scored: { anyOf: [object({ record: ref('AccountRecord'), tier: text }), { type: 'null' }] },
    explanation: ref('AccountExplanation'),
    tasks: array({ type: 'object' }),
  }),
  Report: object({
    as_of: text,
    headline: object({ t12m: ref('Metrics'), quarterly: ref('Metrics'), monthly: ref('Metrics'), annualised_monthly_nrr: ratio }),
    bridge: object({ starting_mrr: money, expansion: money, contraction: money, churn: money, fx: money, ending_mrr: money }),
    series: array(object({ month: text, t12m_nrr: ratio, t12m_grr: ratio, monthly_nrr: ratio, monthly_grr: ratio })),
    groups: array(object({ by: text, rows: array(ref('Metrics')) })),
    cohorts: object({ granularity: text, rows: array(ref('Cohort')) }),
    diagnostics: array(object({ id: text, severity: text, message: text })),
  }),
  SeriesRow: object(
    {
      month: text,
      mrr: money,
      arr: money,
      customers: int,
      new: money,
      expansion: money,
      reactivation: money,
      contraction: { ...money, description: 'MRR lost to contraction, as a positive amount' },
      churn: { ...money, description: 'MRR lost to churn, as a positive amount' },
      net_new: { ...money, description: 'new + expansion + reactivation − contraction − churn = mrr − the previous month\'s mrr' },
    },
    { additionalProperties: false },
  ),
  Backtest: object({
    from: text,
    to: text,
    snapshots: int,
    plays: array(
      object({
        playbook: text,
        fires: int,
        precision: ratio,
        base_rate: ratio,
        recall_arr: ratio,
        target_arr: { ...money, description: 'ARR of the events the play aims at' },
        flagged_arr: { ...money, description: 'the part of it the play had flagged' },
      }),
    ),
  }),
};

/** The 200 answer of each endpoint. */
export const ENDPOINT_RESPONSES: Record<string, Schema> = {
  '/api/report': ref('Report'),
  '/api/metrics': array(ref('Metrics')),
  '/api/movements': object(
    {
      from: nullable('string'),
      to: text,
      total: int,
      rows: array(ref('Movement')),
      totals: ref('MovementTotals'),
      prior: {
        description: 'with compare=1 only: the prior period (as many months, ending the month before from); null when it is all before the data',
        anyOf: [object({ from: text, to: text, starts_before_data: { type: 'boolean', description: 'the data begins inside the prior period: fewer months of movements' }, totals: ref('MovementTotals') }), { type: 'null' }],
      },
    },
    { required: ['from', 'to', 'total', 'rows', 'totals'] },
  ),
  '/api/cohorts': object({ granularity: text, month: text, rows: array(ref('Cohort')) }),
  '/api/accounts': object({ as_of: text, total: int, rows: array(ref('AccountRow')) }),
  '/api/accounts/{id}': ref('AccountDetail'),
  '/api/playbooks/backtest': ref('Backtest'),
  '/api/series': array(ref('SeriesRow')),
  '/api/trend': array(object({ month: text, t12m_nrr: ratio, t12m_grr: ratio, t12m_starting_accounts: int, monthly_nrr: ratio, monthly_grr: ratio, monthly_starting_accounts: int })),
  '/api/explain': object({
    account_id: text,
    month: nullable('string'),
    mrr: money,
    movements: array({ allOf: [ref('Movement'), object({ lines: array(object({ id: text, effect: text, product: text, mrr: money })) })] }),
    lines: array(object({ source: text, id: text, file: nullable('string'), row: int, product: text, currency: text, mrr_local: money, mrr: money })),
  }),
  '/api/cohorts/{cohort}/accounts': object({ cohort: text, total: int, rows: array(object({ account_id: text, first_month: text, starting_mrr: money, mrr: money, active: { type: 'boolean' } })) }),
  '/api/tasks': object({
    as_of: text,
    total: int,
    rows: array(object({ id: int, account_id: text, play: text, owner: text, due: text, status: { enum: ['open', 'snoozed', 'done', 'exited'] }, overdue: { type: 'boolean' }, snoozed_until: nullable('string'), notes: nullable('string') })),
  }),
  '/api/renewals': object({
    as_of: text,
    from: text,
    to: text,
    scores: object({ status: { enum: ['computing', 'ready'] }, note: nullable('string') }),
    forecast: object({ status: { enum: ['computing', 'ready', 'unavailable'] }, note: nullable('string') }),
    at_risk_rule: text,
    total: int,
    by_month: array(object({ month: text, accounts: int, arr: money, at_risk_accounts: int, arr_at_risk: money, expected_arr_loss: ref('NullableMoney') })),
    rows: array(
      object({
        account_id: text,
        renewal_date: text,
        arr: money,
        owner: nullable('string'),
        segment: nullable('string'),
        risk: nullable('number'),
        health: nullable('number'),
        churn_probability_90d: nullable('number'),
        at_risk: { type: 'boolean' },
        arr_at_risk: money,
        expected_arr_loss: ref('NullableMoney'),
      }),
    ),
    prior: {
      description: 'with compare=1 only: the renewals of the period as many months before from, as the book stood as many months before as_of (the same page, that much earlier); null when that day is before the data',
      anyOf: [object({ from: text, to: text, as_of: text, accounts: int, arr: money }), { type: 'null' }],
    },
  }, { required: ['as_of', 'from', 'to', 'scores', 'forecast', 'at_risk_rule', 'total', 'by_month', 'rows'] }),
  '/api/book': object({
    as_of: text,
    from: text,
    to: text,
    scores: object({ status: { enum: ['computing', 'ready', 'unscored'] }, note: nullable('string') }),
    at_risk_rule: text,
    total: int,
    rows: array(object({ owner: text, accounts: int, arr: money, at_risk_accounts: int, arr_at_risk: money, open_tasks: int, overdue_tasks: int, renewals_90d: int, renewals_90d_arr: money, churned_accounts: int, churned_mrr: money, expanded_accounts: int, expansion_mrr: money })),
  }),
  '/api/accounts/{id}/timeline': object({
    account_id: text,
    as_of: text,
    total: int,
    events: array(object({ date: text, kind: text, title: text, detail: nullable('string'), file: nullable('string'), row: nullable('integer') })),
  }),
  '/api/accounts/{id}/history': object({
    account_id: text,
    points: array(object({ month: text, date: text, mrr: money, arr: money, active: { type: 'boolean' }, health: nullable('number'), health_colour: nullable('string'), churn_risk: nullable('number'), seats_purchased: nullable('integer'), seats_active: nullable('integer'), users_30d: nullable('number') })),
    usage_policy: { enum: ['include', 'exclude'] },
    excludes_usage: array(text),
    note: text,
  }),
  '/api/attributes': array(object({ name: text, kind: { enum: ['categorical', 'date', 'number'] }, values: array(object({ value: text, accounts: int })) })),
};
