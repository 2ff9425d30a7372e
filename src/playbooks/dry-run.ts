import { scoreAccounts, snapshotDate, defaultSnapshot, type ScoredAccount } from '../accounts/account-records.js';
import type { Workspace } from '../workspace/workspace.js';
import { existsSync } from 'node:fs';
import type { Playbook } from './playbook-config.js';
import { decidePlays, EMPTY_STATE_VIEW, readStateView, type PlayDecision } from './play-decisions.js';
import { statePath } from './playbook-settings.js';
import { PlaybookState } from './playbook-state.js';
import { compileRule } from './rule-expression.js';
import { FIELD_ALIASES, RULE_FIELDS } from './rule-fields.js';

/**
 * Who would enter each play on a day, and why: the rule's fields with their values, and the
 * account's top risk or readiness reason. Nothing is opened or sent.
 */
export interface PlayEntry {
  readonly playbook: string;
  readonly account_id: string;
  readonly name: string | null;
  readonly tier: string;
  readonly owner: string;
  readonly task_type: string;
  readonly priority: string;
  readonly due_date: string;
  /** `field = value` for every field the trigger reads. */
  readonly because: string;
  readonly top_reason: string | null;
  /** The trigger's fields with their values. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The account's risk (or, for expansion plays, readiness) reasons, strongest first. */
  readonly reasons: readonly string[];
  readonly arr: number;
}

/** A play on a day: who matches its trigger, and (when it has an exit rule) who matches that. */
export interface PlayEvaluation {
  readonly playbook: Playbook;
  readonly entering: readonly PlayEntry[];
  /** Accounts for which the exit rule holds; null when the play has none (leaving = no longer matching). */
  readonly exiting: ReadonlySet<string> | null;
}

export interface Evaluation {
  readonly date: string;
  /** Every account's rule inputs on the day, by account id (what webhooks receive as the record). */
  readonly inputs: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  readonly plays: readonly PlayEvaluation[];
}

export interface DryRun {
  readonly date: string;
  readonly plays: readonly { readonly playbook: Playbook; readonly entering: readonly PlayEntry[] }[];
  /** What `nrr playbooks run` would record now, read from the play state (empty before the first run). */
  readonly decisions: readonly PlayDecision[];
  /** The state file read, or null when there is none yet. */
  readonly state_file: string | null;
  /** True when a run with this day's default run key is already recorded: `run` with that key records nothing new (`--run-key` runs again). */
  readonly already_recorded: boolean;
}

/**
 * Writes the scores of a day next to the records and defines `rule_inputs`, the one view rules read.
 */
export async function prepareRuleInputs(ws: Workspace, scored: readonly ScoredAccount[]): Promise<void> {
  const d = ws.driver.dialect;
  const tierNumber = new Map(ws.scoring.tiers.map((t, i) => [t.name, i + 1]));
  await ws.driver.exec(
    'CREATE OR REPLACE TABLE account_scores (snapshot_date DATE, account_id VARCHAR, tier_number INTEGER, health_score DOUBLE, health_colour VARCHAR, churn_risk DOUBLE, expansion_readiness DOUBLE)',
  );
  const num = (x: number | null): string => (x === null ? 'NULL' : String(x));
  for (let i = 0; i < scored.length; i += 2000) {
    const values = scored
      .slice(i, i + 2000)
      .map(
        (s) =>
          `(CAST(${d.quoteString(s.record.snapshot_date)} AS DATE), ${d.quoteString(s.record.account_id)}, ${tierNumber.get(s.tier) ?? 'NULL'}, ${num(s.health.score)}, ${s.health.colour ? d.quoteString(s.health.colour) : 'NULL'}, ${s.risk.score}, ${s.expansion.score})`,
      );
    if (values.length > 0) await ws.driver.exec(`INSERT INTO account_scores VALUES ${values.join(', ')}`);
  }
  const segment = ws.attributes.includes('segment') ? 'r.segment' : 'CAST(NULL AS VARCHAR) AS segment';
  const attrs = ws.attributes.filter((a) => a !== 'segment').map((a) => `r.${d.quoteIdent(a)}`);
  await ws.driver.exec(`CREATE OR REPLACE VIEW rule_inputs AS
    SELECT r.snapshot_date, r.account_id, ${[segment, ...attrs].join(', ')},
      CAST(r.mrr AS DOUBLE) AS mrr, CAST(r.arr AS DOUBLE) AS arr, r.mrr_change_90d, r.days_to_renewal, r.monthly_terms,
      date_diff('day', r.customer_since, r.snapshot_date) AS days_since_start, len(r.products) AS product_count,
      r.seat_utilisation, r.months_above_80, r.usage_trend_90d, r.usage_trend_30d, r.feature_breadth, r.adjacent_users_30d,
      r.activation_achieved, r.days_to_first_value, r.qbr_completion_12m, r.reviews_missed_180d, r.sponsor_present,
      r.days_since_sponsor_engaged, r.days_since_sponsor_left, r.sponsor_changes_12m, r.tickets_90d, r.escalations_90d,
      r.open_tickets, r.headcount_change_12m, r.days_since_funding, CAST(r.open_expansion_pipeline AS DOUBLE) AS open_expansion_pipeline,
      s.tier_number, s.health_score, s.health_colour, s.churn_risk, s.expansion_readiness
    FROM account_records r JOIN account_scores s USING (snapshot_date, account_id)`);
}

/** The owner a play's task goes to: the account's CSM or AM, or a digital sequence. */
export function ownerOf(p: Playbook, s: ScoredAccount, tierNumber: number): string {
  const kind = typeof p.task.owner === 'string' ? p.task.owner : (p.task.owner.by_tier[String(tierNumber)] ?? 'csm');
  const a = s.record.attributes;
  if (kind === 'digital') return 'digital sequence';
  if (kind === 'am') return a['am_owner'] ?? a['owner'] ?? 'unassigned AM';
  return a['csm_owner'] ?? a['csm'] ?? a['owner'] ?? 'unassigned CSM';
}

/**
 * The dry run: every play's entrants on a day (default: the workspace's live day, today unless pinned).
 * @example (await dryRun(ws)).plays[0].entering.length
 */
export async function dryRun(ws: Workspace, options: { asOf?: string } = {}): Promise<DryRun> {
  const e = await evaluatePlays(ws, options.asOf ? snapshotDate(options.asOf) : defaultSnapshot(ws));
  const file = statePath(ws.dataDir, ws.scoring.playbookSettings);
  // The state is opened read-only: a dry run never creates or changes it.
  const seen = existsSync(file)
    ? await PlaybookState.using(file, { readOnly: true }, async (s) => ({ view: await readStateView(s, e.date), already: await s.hasRun(`${e.date}/${ws.scoring.playbookVersion}`) }))
    : { view: EMPTY_STATE_VIEW, already: false };
  return {
    date: e.date,
    plays: e.plays.map((p) => ({ playbook: p.playbook, entering: p.entering })),
    decisions: decidePlays(e, seen.view, ws.scoring.playbookSettings.daily_budget_per_owner),
    state_file: existsSync(file) ? file : null,
    already_recorded: seen.already,
  };
}

/** Scores every account on `date` and evaluates each play's trigger and exit rule against it. */
export async function evaluatePlays(ws: Workspace, date: string): Promise<Evaluation> {
  const scored = await scoreAccounts(ws, { asOf: date });
  await prepareRuleInputs(ws, scored);
  const byId = new Map(scored.map((s) => [s.record.account_id, s]));
  const tierNumber = new Map(ws.scoring.tiers.map((t, i) => [t.name, i + 1]));
  const d = ws.driver.dialect;
  const onDay = `snapshot_date = CAST(${d.quoteString(date)} AS DATE)`;
  const inputs = new Map<string, Record<string, unknown>>();
  // Whole-number columns arrive as strings (BIGINT); counts and days are numbers in a record.
  const integers = (await ws.query('DESCRIBE rule_inputs'))
    .filter((c) => /^(BIGINT|HUGEINT|INTEGER|UBIGINT)$/.test(String(c['column_type'])))
    .map((c) => String(c['column_name']));
  for (const r of await ws.query(`SELECT * EXCLUDE (snapshot_date) FROM rule_inputs WHERE ${onDay} ORDER BY account_id`)) {
    for (const k of integers) if (typeof r[k] === 'string' && Number.isSafeInteger(Number(r[k]))) r[k] = Number(r[k]);
    inputs.set(String(r['account_id']), r);
  }
  const plays: PlayEvaluation[] = [];
  for (const p of ws.scoring.playbooks) {
    const rule = compileRule(p.when, d);
    const cols = rule.fields.map((f) => RULE_FIELDS[FIELD_ALIASES[f] ?? f]!.column);
    const rows = await ws.query(
      `SELECT account_id${cols.map((c, i) => `, ${c} AS f${i}`).join('')} FROM rule_inputs WHERE ${onDay} AND ${rule.sql} ORDER BY churn_risk DESC, arr DESC, account_id`,
    );
    const entering = rows.map((r): PlayEntry => {
      const s = byId.get(String(r['account_id']))!;
      const values = Object.fromEntries(
        rule.fields.map((f, i) => {
          const v = r[`f${i}`] ?? null;
          // BIGINT arrives as a string; a numeric field's value is a number.
          return [f, RULE_FIELDS[FIELD_ALIASES[f] ?? f]!.type === 'number' && typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v];
        }),
      );
      const because = rule.fields.map((f, i) => `${f} = ${show(r[`f${i}`])}`).join(', ');
      const reasons = (p.task.type === 'expansion' ? s.expansion.reasons : s.risk.reasons).map((x) => x.text);
      return {
        playbook: p.name,
        account_id: s.record.account_id,
        name: s.record.attributes['name'] ?? null,
        tier: s.tier,
        owner: ownerOf(p, s, tierNumber.get(s.tier) ?? 3),
        task_type: p.task.type,
        priority: p.task.priority,
        due_date: plusDays(date, p.task.due_days),
        because,
        top_reason: reasons[0] ?? null,
        values,
        reasons,
        arr: Number(inputs.get(s.record.account_id)?.['arr'] ?? 0),
      };
    });
    let exiting: Set<string> | null = null;
    if (p.exit) {
      const exit = compileRule(p.exit, d);
      exiting = new Set((await ws.query(`SELECT account_id FROM rule_inputs WHERE ${onDay} AND ${exit.sql}`)).map((r) => String(r['account_id'])));
    }
    plays.push({ playbook: p, entering, exiting });
  }
  return { date, inputs, plays };
}

export const plusDays = (date: string, days: number): string => new Date(Date.parse(date) + days * 86_400_000).toISOString().slice(0, 10);

function show(v: unknown): string {
  if (v === null || v === undefined) return 'unknown';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  const n = Number(v);
  return typeof v === 'string' && v !== '' && Number.isFinite(n) && !Number.isInteger(n) ? n.toFixed(3) : String(v);
}

/** One row of the dry run: a play, an account and what `run` would do with it now. */
export interface DryRunRow {
  readonly playbook: string;
  readonly account_id: string;
  readonly action: PlayDecision['action'];
  readonly name: string | null;
  readonly tier: string | null;
  readonly owner: string | null;
  readonly priority: string;
  readonly due_date: string | null;
  /** The open task (already_open) or the task that closes (exit). */
  readonly task_id: number | null;
  /** Why: the top reason of an entry, why it waits, or why it leaves. */
  readonly reason: string | null;
  /** `field = value` for every field the trigger reads (entries). */
  readonly because: string | null;
}

/** The dry run's decisions as rows, in the order `run` takes them. */
export function dryRunRows(run: DryRun): DryRunRow[] {
  return run.decisions.map((d): DryRunRow => {
    if (d.action === 'exit') {
      return { playbook: d.playbook.name, account_id: d.account_id, action: 'exit', name: null, tier: null, owner: null, priority: d.playbook.task.priority, due_date: null, task_id: d.closes ? d.task_id : null, reason: d.why, because: null };
    }
    const e = d.entry;
    return {
      playbook: e.playbook,
      account_id: e.account_id,
      action: d.action,
      name: e.name,
      tier: e.tier,
      owner: e.owner,
      priority: e.priority,
      due_date: d.action === 'enter' ? e.due_date : null,
      task_id: d.task_id,
      reason: d.held ?? (d.action === 'already_open' ? `task ${d.task_id ?? '?'} open` : e.top_reason),
      because: e.because,
    };
  });
}
