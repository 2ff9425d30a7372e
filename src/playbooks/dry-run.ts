import { snapshotDate, defaultSnapshot, type ScoredAccount } from '../accounts/account-records.js';
import { ACCOUNT_SCORES, defineRuleInputs, materializeAccountScores } from '../accounts/account-scores.js';
import type { Workspace } from '../workspace/workspace.js';
import { existsSync } from 'node:fs';
import type { Playbook } from './playbook-config.js';
import { decidePlays, EMPTY_STATE_VIEW, readStateView, type PlayDecision } from './play-decisions.js';
import { statePath } from './playbook-settings.js';
import { PlaybookState } from './playbook-state.js';
import { compileRule } from './rule-expression.js';
import { prepareForecastFields } from './forecast-rule-fields.js';
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

/** The owner a play's task goes to: the account's CSM or AM, or a digital sequence. */
export function ownerOf(p: Playbook, s: Pick<ScoredAccount, 'record'> | { readonly record: { readonly attributes: Readonly<Record<string, string | null>> } }, tierNumber: number): string {
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

/** Which accounts to evaluate: all (default), or only these (the accounts a change touched). */
export interface EvaluateOptions {
  readonly accounts?: readonly string[] | null;
}

/** The relations of an evaluation restricted to some accounts: apart from those of a full one, which other readers use meanwhile. */
const FEW = { accounts: 'play_accounts_few', scores: 'play_scores_few', view: 'rule_inputs_few_view', inputs: 'rule_inputs_few' } as const;

/**
 * Scores every account on `date` (in SQL, account-scores.ts) and evaluates each play's trigger and exit rule against it.
 * With `accounts`, only those accounts are scored and evaluated (nothing of the others is computed):
 * the same rows as a full evaluation gives for them.
 */
export async function evaluatePlays(ws: Workspace, date: string, options: EvaluateOptions = {}): Promise<Evaluation> {
  const few = options.accounts ?? null;
  if (few !== null && few.length === 0) return { date, inputs: new Map(), plays: ws.scoring.playbooks.map((p) => ({ playbook: p, entering: [], exiting: p.exit ? new Set<string>() : null })) };
  const scoresTable = few === null ? ACCOUNT_SCORES : FEW.scores;
  const ruleInputs = few === null ? 'rule_inputs' : FEW.inputs;
  await prepareForecastFields(ws, [date]);
  if (few === null) {
    await materializeAccountScores(ws, { days: [date], change: false });
    await defineRuleInputs(ws);
  } else {
    const q = ws.driver.dialect.quoteString;
    await ws.driver.exec(`CREATE OR REPLACE TABLE ${FEW.accounts} AS SELECT DISTINCT CAST(x AS VARCHAR) AS account_id FROM (VALUES ${few.map((a) => `(${q(a)})`).join(', ')}) v(x)`);
    await materializeAccountScores(ws, { days: [date], change: false, accounts: FEW.accounts, table: FEW.scores });
    await defineRuleInputs(ws, FEW.scores, FEW.view);
    // A few rows, read by every play's queries below: kept as a table rather than joined again each time.
    await ws.driver.exec(`CREATE OR REPLACE TABLE ${FEW.inputs} AS SELECT * FROM ${FEW.view}`);
  }
  const tierNumber = new Map(ws.scoring.tiers.map((t, i) => [t.name, i + 1]));
  const d = ws.driver.dialect;
  const onDay = `snapshot_date = CAST(${d.quoteString(date)} AS DATE)`;
  const inputs = new Map<string, Record<string, unknown>>();
  // Whole-number columns arrive as strings (BIGINT); counts and days are numbers in a record.
  const integers = (await ws.query(`DESCRIBE ${ruleInputs}`))
    .filter((c) => /^(BIGINT|HUGEINT|INTEGER|UBIGINT)$/.test(String(c['column_type'])))
    .map((c) => String(c['column_name']));
  for (const r of await ws.query(`SELECT * EXCLUDE (snapshot_date) FROM ${ruleInputs} WHERE ${onDay} ORDER BY account_id`)) {
    for (const k of integers) if (typeof r[k] === 'string' && Number.isSafeInteger(Number(r[k]))) r[k] = Number(r[k]);
    inputs.set(String(r['account_id']), r);
  }
  const plays: PlayEvaluation[] = [];
  for (const p of ws.scoring.playbooks) {
    const rule = compileRule(p.when, d);
    const cols = rule.fields.map((f) => RULE_FIELDS[FIELD_ALIASES[f] ?? f]!.column);
    const reasonsColumn = p.task.type === 'expansion' ? 'expansion_reasons' : 'risk_reasons';
    const rows = await ws.query(
      `SELECT account_id${cols.map((c, i) => `, ${c} AS f${i}`).join('')} FROM ${ruleInputs} WHERE ${onDay} AND ${rule.sql} ORDER BY churn_risk DESC, arr DESC, account_id`,
    );
    // The tier and reasons of the accounts entering, read by key from the scores of the day.
    const scores = new Map(
      (
        await ws.query(
          `SELECT s.account_id, s.tier, list_transform(s.${reasonsColumn}, x -> x.text) AS reasons FROM ${scoresTable} s
           WHERE s.${onDay} AND s.account_id IN (SELECT account_id FROM ${ruleInputs} WHERE ${onDay} AND ${rule.sql})`,
        )
      ).map((r) => [String(r['account_id']), { tier: String(r['tier']), reasons: ((r['reasons'] as string[] | null) ?? []).map(String) }]),
    );
    const entering = rows.map((r): PlayEntry => {
      const id = String(r['account_id']);
      const input = inputs.get(id)!;
      const sc = scores.get(id)!;
      const attributes = Object.fromEntries(ws.attributes.map((a) => [a, input[a] === null || input[a] === undefined ? null : String(input[a])]));
      const values = Object.fromEntries(
        rule.fields.map((f, i) => {
          const v = r[`f${i}`] ?? null;
          // BIGINT arrives as a string; a numeric field's value is a number.
          return [f, RULE_FIELDS[FIELD_ALIASES[f] ?? f]!.type === 'number' && typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v];
        }),
      );
      const because = rule.fields.map((f, i) => `${f} = ${show(r[`f${i}`])}`).join(', ');
      const reasons = sc.reasons;
      return {
        playbook: p.name,
        account_id: id,
        name: attributes['name'] ?? null,
        tier: sc.tier,
        owner: ownerOf(p, { record: { attributes } }, tierNumber.get(sc.tier) ?? 3),
        task_type: p.task.type,
        priority: p.task.priority,
        due_date: plusDays(date, p.task.due_days),
        because,
        top_reason: reasons[0] ?? null,
        values,
        reasons,
        arr: Number(input['arr'] ?? 0),
      };
    });
    let exiting: Set<string> | null = null;
    if (p.exit) {
      const exit = compileRule(p.exit, d);
      exiting = new Set((await ws.query(`SELECT account_id FROM ${ruleInputs} WHERE ${onDay} AND ${exit.sql}`)).map((r) => String(r['account_id'])));
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
