import { Option, type Command } from 'commander';
import { defaultSnapshot, scoreAccounts, signalFilesWithRows, snapshotDate, type ScoredAccount } from '../accounts/account-records.js';
import { ACCOUNT_SCORES, materializeAccountScores, readScoreColumns } from '../accounts/account-scores.js';
import { keptOrScored } from '../accounts/kept-scores.js';
import type { Workspace } from '../workspace/workspace.js';
import type { Scored } from '../accounts/risk-scores.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import type { OutcomeRates, ValidityReport } from '../accounts/health-validity.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_EVENTS } from '../accounts/predictive-power.js';
import { NrrError } from '../errors.js';
import type { AccountProbability } from '../forecast/account-probabilities.js';
import { Money, stringifyJson, stringifyJsonList } from '../money.js';
import { formatMoney, formatPercent } from '../report/format.js';
import { open, outOption, positiveInt, withDataOptions, type CommonOptions } from './common-options.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';
import { plural } from './plural-text.js';
import { writeOutput } from './standard-output.js';

const SORTS = ['risk', 'arr', 'renewal', 'health', 'expansion'] as const;
type Sort = (typeof SORTS)[number];

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);
const one = (x: number | null | undefined): string | null => (x === null || x === undefined ? null : x.toFixed(1));

/** What a score shows in a list: its value, its top reason, or why there is none. */
type ListedScore = Pick<Scored, 'score' | 'not_scored'> & { readonly reasons: readonly { readonly text: string }[] };

/** What `nrr accounts` lists, filters and sorts by: a `ScoredAccount`, or the few columns of it a list reads. */
export interface ListedAccount {
  readonly record: Pick<ScoredAccount['record'], 'account_id' | 'attributes' | 'active' | 'mrr' | 'arr' | 'renewal_date' | 'monthly_terms' | 'days_to_renewal'>;
  readonly tier: string;
  readonly health: Pick<ScoredAccount['health'], 'score' | 'colour'>;
  readonly change: { readonly delta: number | null } | null;
  readonly risk: ListedScore;
  readonly expansion: ListedScore;
}

/** The top reason of a score, or why there is none. */
const topReason = (sc: ListedScore): string | null => (sc.not_scored ? `not scored: ${sc.not_scored}` : (sc.reasons[0]?.text ?? null));

/** Account attributes that name an owner: csm_owner, am_owner, account_owner, owner, csm, am… */
export const ownerColumns = (attributes: readonly string[]): string[] => attributes.filter((a) => /(^|_)owner$|^(csm|am)$/i.test(a));

/** One line per account for `nrr accounts`: one column per meaning (a renewal date; its term apart). */
function summaryRow(s: ListedAccount, owners: readonly string[]): Record<string, string | number | null | Money> {
  const r = s.record;
  return {
    account_id: r.account_id,
    name: r.attributes['name'] ?? null,
    segment: r.attributes['segment'] ?? null,
    ...Object.fromEntries(owners.map((o) => [o, r.attributes[o] ?? null])),
    status: r.active ? 'active' : 'churned',
    tier: s.tier,
    mrr: r.mrr,
    arr: r.arr,
    health: one(s.health.score),
    colour: s.health.colour,
    health_change: one(s.change?.delta),
    risk: one(s.risk.score),
    risk_reason: topReason(s.risk),
    expansion: one(s.expansion.score),
    expansion_reason: topReason(s.expansion),
    term: !r.active ? null : r.renewal_date ? 'contract' : r.monthly_terms ? 'monthly' : null,
    renewal_date: r.renewal_date,
    days_to_renewal: r.days_to_renewal,
  };
}

/** `--where ATTR=VALUE` → [attribute, value]; the attribute must be a column of accounts. */
function parseWhere(w: string, attributes: readonly string[]): [string, string] {
  const at = w.indexOf('=');
  if (at < 1) throw new NrrError(`--where: expected ATTRIBUTE=VALUE such as segment=smb, got '${w}'`);
  const attr = w.slice(0, at).trim();
  if (!attributes.includes(attr)) throw new NrrError(`--where: no account attribute '${attr}' (attributes: ${attributes.join(', ') || 'none: no accounts file'})`);
  return [attr, w.slice(at + 1)];
}

/** The filters of `nrr accounts`: owner (any owner column), segment, --where, status. Matching is on text, case-insensitive. */
export function filterAccounts<T extends ListedAccount>(
  list: readonly T[],
  attributes: readonly string[],
  f: { owner?: string; segment?: string; where?: readonly string[]; status: 'active' | 'churned' | 'all' },
): T[] {
  const same = (a: string | null | undefined, b: string): boolean => a !== null && a !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
  const owners = ownerColumns(attributes);
  const tests: ((s: ListedAccount) => boolean)[] = [];
  if (f.owner !== undefined) {
    if (owners.length === 0) throw new NrrError(`--owner: the accounts have no owner column (such as csm_owner or account_owner); attributes: ${attributes.join(', ') || 'none: no accounts file'}`);
    tests.push((s) => owners.some((o) => same(s.record.attributes[o], f.owner!)));
  }
  if (f.segment !== undefined) {
    if (!attributes.includes('segment')) throw new NrrError(`--segment: the accounts have no segment column; attributes: ${attributes.join(', ') || 'none: no accounts file'}`);
    tests.push((s) => same(s.record.attributes['segment'], f.segment!));
  }
  for (const w of f.where ?? []) {
    const [attr, value] = parseWhere(w, attributes);
    tests.push((s) => same(s.record.attributes[attr], value));
  }
  if (f.status !== 'all') tests.push((s) => s.record.active === (f.status === 'active'));
  return list.filter((s) => tests.every((t) => t(s)));
}

function sortAccounts<T extends ListedAccount>(list: T[], by: Sort): T[] {
  const key: Record<Exclude<Sort, 'arr'>, (s: ListedAccount) => number> = {
    risk: (s) => -(s.risk.score ?? -1), // not scored: after every score
    renewal: (s) => s.record.days_to_renewal ?? Number.MAX_SAFE_INTEGER,
    health: (s) => s.health.score ?? 101,
    expansion: (s) => -(s.expansion.score ?? -1),
  };
  // ARR is compared as Money, never as a float.
  return [...list].sort((a, b) => (by === 'arr' ? b.record.arr.cmp(a.record.arr) : key[by](a) - key[by](b)) || a.record.account_id.localeCompare(b.record.account_id));
}

/** `nrr account ID` as text: the record, each score with its reasons. */
function accountText(s: ScoredAccount, filesWithRows: ReadonlySet<SignalSourceName>): string {
  const r = s.record;
  const has = (source: SignalSourceName): boolean => r.signal_sources.includes(source);
  const hasFile = (source: SignalSourceName): boolean => filesWithRows.has(source);
  const out: string[] = [];
  const name = r.attributes['name'] ? ` — ${r.attributes['name']}` : '';
  out.push(`${r.account_id}${name}, as of ${r.snapshot_date}`);
  out.push(`  ${Object.entries(r.attributes).filter(([k, v]) => k !== 'name' && v !== null).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
  out.push('');
  out.push(`Billing     MRR ${formatMoney(r.mrr)}  ARR ${formatMoney(r.arr)}  ${r.active ? '' : '(no revenue on this day)'}`);
  out.push(`            products ${r.products.join(', ') || '—'}; customer since ${r.customer_since ?? '—'}; MRR change 90 days ${formatPercent(r.mrr_change_90d)}`);
  out.push(`            ${r.monthly_terms && !r.renewal_date ? 'monthly terms' : `renewal ${r.renewal_date ?? '—'}${r.days_to_renewal !== null ? ` (in ${plural(r.days_to_renewal, 'day')})` : ''}`}; last movement ${r.last_movement ?? '—'}${r.last_movement_month ? ` in ${r.last_movement_month}` : ''}`);
  out.push(`Tier        ${s.tier}`);
  out.push('');
  const h = s.health;
  const change = s.change?.delta != null ? ` (${s.change.delta >= 0 ? '+' : ''}${s.change.delta.toFixed(1)} since ${s.change.from?.toFixed(1)})` : '';
  const healthScore = h.not_scored ? `not scored: ${h.not_scored}` : h.score === null ? '— (every measure missing)' : `${h.score.toFixed(1)} ${h.colour ?? ''}`;
  out.push(`Health      ${healthScore}${change}   definition: ${h.definition}${h.missing.length ? `; missing: ${h.missing.join(', ')}` : ''}`);
  out.push(
    formatRows(
      h.measures.map((m) => ({
        measure: m.measure,
        group: m.group,
        value: m.value === null ? '(missing)' : round3(m.value),
        band: m.band,
        points: m.points === null ? '—' : `${m.points.toFixed(1)} / ${m.weight}`,
      })),
      ['measure', 'group', 'value', 'band', 'points'],
      'table',
    ),
  );
  if (s.change && s.change.movers.length > 0) {
    const v = (x: number | null): string => (x === null ? '—' : String(round3(x)));
    out.push(`  moved by: ${s.change.movers.slice(0, 4).map((m) => `${m.measure} ${v(m.from)} → ${v(m.to)} (${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(1)} pts)`).join('; ')}`);
  }
  out.push('');
  for (const [label, sc] of [['Churn risk', s.risk], ['Expansion', s.expansion]] as const) {
    if (sc.score === null) {
      out.push(`${label.padEnd(12)}not scored: ${sc.not_scored ?? 'no data'}`);
      continue;
    }
    out.push(`${label.padEnd(12)}${sc.score.toFixed(1)} (${sc.level})${sc.note ? `; ${sc.note}` : ''}`);
    for (const reason of sc.reasons) out.push(`  +${reason.points.toFixed(1).padStart(5)}  ${reason.text}`);
    if (sc.reasons.length === 0) out.push('  nothing points that way');
  }
  out.push('');
  out.push('Signals');
  const facts: [string, unknown][] = [
    ['seats purchased / active', r.seats_purchased === null ? NO_DATA : `${r.seats_purchased} / ${r.seats_active ?? '—'} (${formatPercent(r.seat_utilisation)}; ${plural(r.months_above_80 ?? 0, 'month')} above 80%)`],
    ['weekly active users, 30 / 90 days', r.users_90d === null && r.users_30d === null ? NO_DATA : `${round1(r.users_30d) ?? '—'} / ${round1(r.users_90d) ?? '—'}`],
    ['usage trend 30 / 90 days', `${formatPercent(r.usage_trend_30d)} / ${formatPercent(r.usage_trend_90d)}`],
    ['feature breadth', formatPercent(r.feature_breadth)],
    ['activation', r.activation_achieved === null ? (has('onboarding') ? 'not due yet' : NO_DATA) : r.activation_achieved ? 'reached' : `not reached (due ${r.activation_due})`],
    ['days to first value', r.days_to_first_value ?? '—'],
    ['business reviews held / due, 12 months', r.reviews_missed_180d === null ? `${NO_DATA} (no meetings file)` : `${r.reviews_held_12m ?? 0} / ${r.reviews_due_12m ?? 0}`],
    [
      'executive sponsor',
      r.sponsor_present
        ? `present, last engaged ${r.days_since_sponsor_engaged === null ? '(no data)' : `${plural(r.days_since_sponsor_engaged, 'day')} ago`}`
        : r.days_since_sponsor_left !== null
          ? `left ${plural(r.days_since_sponsor_left, 'day')} ago`
          : r.sponsor_changes_12m === null
            ? `${NO_DATA} (no contacts file)`
            : 'no executive sponsor in the contacts file',
    ],
    ['sponsor changes, 12 months', r.sponsor_changes_12m ?? `${NO_DATA} (no contacts file)`],
    ['tickets 90 days (escalated), open', r.tickets_90d === null ? `${NO_DATA} (no tickets file)` : `${r.tickets_90d} (${r.escalations_90d}), ${r.open_tickets}`],
    ['headcount (12-month change)', `${r.headcount ?? '—'} (${formatPercent(r.headcount_change_12m)})`],
    ['last funding', r.last_funding_round ? `${r.last_funding_round}, ${r.days_since_funding === null ? '?' : plural(r.days_since_funding, 'day')} ago` : '—'],
    ['open expansion pipeline', has('opportunities') || hasFile('opportunities') ? `${formatMoney(r.open_expansion_pipeline)} (${r.open_expansion_opportunities})` : NO_DATA],
  ];
  for (const [k, v] of facts) out.push(`  ${k.padEnd(40)} ${String(v)}`);
  return out.join('\n') + '\n';
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const NO_DATA = 'no data';

/** "0.712 (0.650–0.771)", or "—". */
function withInterval(x: number | null, low: number | null, high: number | null, digits: number): string {
  if (x === null) return '—';
  return low === null || high === null ? x.toFixed(digits) : `${x.toFixed(digits)} (${low.toFixed(digits)}–${high.toFixed(digits)})`;
}

function validityText(v: ValidityReport, format: 'table' | 'md'): string {
  const f: RowFormat = format === 'md' ? 'md' : 'table';
  const rates = (rows: readonly OutcomeRates[]) =>
    formatRows(
      rows.map((r) => ({
        group: r.group,
        account_snapshots: r.n,
        churned: r.churned,
        churn_90d: formatPercent(r.churn_rate),
        contracted: r.contracted,
        contraction_90d: formatPercent(r.contraction_rate),
        either: formatPercent(r.loss_rate),
      })),
      ['group', 'account_snapshots', 'churned', 'churn_90d', 'contracted', 'contraction_90d', 'either'],
      f,
    );
  const notScored = v.not_scored.health + v.not_scored.risk > 0
    ? [`Not scored (no signal data), so left out of that score's figures: ${v.not_scored.health} account-snapshots for health, ${v.not_scored.risk} for risk.`]
    : [];
  const out = [
    `Health and risk scores against what happened in the ${v.horizon_days} days after each of ${v.snapshots.length} monthly snapshots (${v.snapshots[0]} … ${v.snapshots.at(-1)}).`,
    `Counts are account-snapshots. Intervals: 95 %, ${v.interval.method} (${v.interval.resamples} resamples, seed ${v.interval.seed}). No verdict from fewer than ${v.min_events} cases.`,
    ...notScored,
    '',
    'By health colour',
    rates([v.overall, ...v.by_colour]),
    `${v.colours.verdict.charAt(0).toUpperCase()}${v.colours.verdict.slice(1)}.`,
    '',
    'By tier',
    rates(v.by_tier),
    '',
    'Predictive power (ROC AUC: 0.5 is chance, 1 is perfect; lift: rate of the outcome in the top 10 % by score ÷ overall)',
    formatRows(
      v.scores.map((s) => ({
        score: s.score === 'health' ? 'health (low = bad)' : 'churn risk',
        outcome: s.outcome === 'churn' ? 'churn' : 'churn or contraction',
        positives: s.positives,
        negatives: s.negatives,
        'auc (95 %)': withInterval(s.auc, s.auc_low, s.auc_high, 3),
        'lift top decile (95 %)': withInterval(s.lift_top_decile, s.lift_low, s.lift_high, 2),
        verdict: s.verdict,
      })),
      ['score', 'outcome', 'positives', 'negatives', 'auc (95 %)', 'lift top decile (95 %)', 'verdict'],
      f,
    ),
    '',
    'Calibration of the churn risk score',
    formatRows(
      v.calibration.map((c) => ({ risk: c.bucket, account_snapshots: c.n, mean_risk: c.mean_risk?.toFixed(1) ?? '—', churned: c.churned, churn_90d: formatPercent(c.churn_rate), lost: c.lost, churn_or_contraction: formatPercent(c.loss_rate) })),
      ['risk', 'account_snapshots', 'mean_risk', 'churned', 'churn_90d', 'lost', 'churn_or_contraction'],
      f,
    ),
  ];
  return out.join('\n') + '\n';
}

/** The attributes a list reads: those it shows and those it filters on. */
function listAttributes(attributes: readonly string[], o: { where?: string[] }): string[] {
  const wanted = new Set(['name', 'segment', ...ownerColumns(attributes), ...(o.where ?? []).map((w) => w.slice(0, Math.max(0, w.indexOf('='))).trim())]);
  return attributes.filter((a) => wanted.has(a));
}

/** Every account's listed columns on a day, scored in SQL (account-scores.ts) and read without the rest of the record. */
async function listAccounts(ws: Workspace, options: { asOf?: string; includeInactive: boolean; attributes: readonly string[] }): Promise<ListedAccount[]> {
  const date = options.asOf ? snapshotDate(options.asOf) : defaultSnapshot(ws);
  await keptOrScored(ws, date, ACCOUNT_SCORES, () => materializeAccountScores(ws, { days: [date] }));
  const rows = await readScoreColumns(
    ws,
    [
      'account_id', 'active', 'mrr', 'arr', 'renewal_date', 'monthly_terms', 'days_to_renewal', 'tier', 'health_score', 'health_colour', 'has_health_change', 'health_change',
      'churn_risk', 'risk_not_scored', 'expansion_readiness', 'expansion_not_scored',
    ],
    { date, activeOnly: !options.includeInactive, attributes: options.attributes, extra: { risk_top: 's.risk_reasons[1].text', expansion_top: 's.expansion_reasons[1].text' } },
  );
  const top = (x: unknown): { text: string }[] => (x === null || x === undefined ? [] : [{ text: String(x) }]);
  const score = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));
  const notScored = (x: unknown): { not_scored?: string } => (x === null || x === undefined ? {} : { not_scored: String(x) });
  return rows.map(({ row: r, attributes }) => ({
    record: {
      account_id: String(r['account_id']),
      attributes,
      active: r['active'] === true,
      mrr: Money.from(r['mrr']),
      arr: Money.from(r['arr']),
      renewal_date: r['renewal_date'] === null ? null : String(r['renewal_date']),
      monthly_terms: r['monthly_terms'] === true,
      days_to_renewal: score(r['days_to_renewal']),
    },
    tier: String(r['tier']),
    health: { score: score(r['health_score']), colour: (r['health_colour'] ?? null) as ListedAccount['health']['colour'] },
    change: r['has_health_change'] === true ? { delta: score(r['health_change']) } : null,
    risk: { score: score(r['churn_risk']), reasons: top(r['risk_top']), ...notScored(r['risk_not_scored']) },
    expansion: { score: score(r['expansion_readiness']), reasons: top(r['expansion_top']), ...notScored(r['expansion_not_scored']) },
  }));
}

type AccountsOptions = CommonOptions & { probabilities: boolean; tier?: string[]; health?: string[]; sort: Sort; limit?: number; format: RowFormat; all?: boolean; owner?: string; segment?: string; where?: string[]; status: 'active' | 'churned' | 'all' };

/** `nrr accounts`, `nrr account ID`, `nrr health validate`. */
export function registerAccounts(program: Command): void {
  withDataOptions(program.command('accounts').description('every account with its tier, health, churn risk and expansion readiness, and the top reason for each'), { asOfDate: true })
    .option('--tier <tier...>', "only these tiers (e.g. 'Tier 1')")
    .addOption(new Option('--health <colour...>', 'only these health colours').choices(['red', 'yellow', 'green']))
    .addOption(new Option('--sort <key>', 'order').choices([...SORTS]).default('risk'))
    .option('--limit <n>', 'at most this many rows', positiveInt)
    .option('--owner <name>', 'only accounts with this owner in any owner column (csm_owner, am_owner, owner…), case-insensitive')
    .option('--segment <segment>', 'only this segment (case-insensitive)')
    .option('--where <attr=value>', 'only accounts whose attribute has this value (case-insensitive); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--status <status>', 'active (revenue on the day), churned (none), or all').choices(['active', 'churned', 'all']).default('active'))
    .option('--all', 'the same as --status all')
    .option('--no-probabilities', "leave out the forecast's 90-day churn and expansion probabilities (they fit the forecast model once, a few seconds, and are kept beside the store until it changes)")
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .addHelpText(
      'after',
      `
Health, tiers and their definitions come from nrr.config.yaml (health:, tiers:) or the built-in
defaults (docs/health.md). Scores use only what was known on the --as-of day.

Examples:
  nrr accounts --data demo --health red --sort renewal --limit 20
  nrr accounts --data demo --tier 'Tier 1' --sort expansion
  nrr accounts --data demo --owner 'Maya Patel' --format csv
  nrr accounts --data demo --segment enterprise --where region=EMEA --status all
  nrr accounts --data demo --as-of 2026-03-31 --format csv > accounts.csv

Columns: account_id, name, segment, every owner column of the accounts file, status, tier, mrr, arr,
health, colour, risk and expansion with their top reasons, term (contract or monthly), renewal_date,
days_to_renewal, and churn_probability_90d and expansion_probability_90d: the forecast model's
probabilities (fractions) of churn and of an expansion in the 90 days after the last month-end on or
before the day (docs/forecast.md); empty when the history is too thin to fit the model, or the account
had no MRR at that month-end. CSV and JSON carry money with every digit; a table rounds it to cents.`,
    )
    .action(async (o: AccountsOptions) => {
      const ws = await open(o, { signals: true });
      try {
        const status = o.all ? 'all' : o.status;
        // JSON gives every score in full; the other formats read the few columns a list shows.
        let list: ListedAccount[] =
          o.format === 'json'
            ? await scoreAccounts(ws, { asOf: o.asOf, includeInactive: status !== 'active' })
            : await listAccounts(ws, { asOf: o.asOf, includeInactive: status !== 'active', attributes: listAttributes(ws.attributes, o) });
        list = filterAccounts(list, ws.attributes, { owner: o.owner, segment: o.segment, where: o.where, status });
        if (o.tier) {
          const known = new Set(ws.scoring.tiers.map((t) => t.name));
          const unknown = o.tier.filter((t) => !known.has(t));
          if (unknown.length) throw new NrrError(`--tier: unknown tier ${unknown.map((t) => `'${t}'`).join(', ')} (tiers: ${[...known].join(', ')})`);
          list = list.filter((s) => o.tier!.includes(s.tier));
        }
        if (o.health) list = list.filter((s) => s.health.colour !== null && o.health!.includes(s.health.colour));
        list = sortAccounts(list, o.sort);
        if (o.limit) list = list.slice(0, o.limit);
        // The forecast's probabilities: one fit for every account of the day.
        // (The forecast's modules are loaded by the lists that ask for them.)
        const forecast = o.probabilities ? await import('../forecast/account-probabilities.js') : null;
        const probabilities = forecast ? await forecast.accountProbabilities(ws, o.asOf ? snapshotDate(o.asOf) : defaultSnapshot(ws)) : null;
        if (probabilities?.not_fitted) process.stderr.write(`warning: no churn or expansion probabilities: ${probabilities.not_fitted}\n`);
        const probabilityOf = (id: string): AccountProbability | Record<string, never> => probabilities?.accounts.get(id) ?? forecast?.NO_PROBABILITY ?? {};
        if (o.format === 'json') {
          const withProbabilities = probabilities ? list.map((s) => ({ ...s, ...probabilityOf(s.record.account_id) })) : list;
          // In pieces: every account of a large company is more text than one string may hold.
          await writeOutput(o, (function* () {
            yield* stringifyJsonList(withProbabilities);
            yield '\n';
          })());
          return;
        }
        const owners = ownerColumns(ws.attributes);
        const cols = [
          'account_id', 'name', 'segment', ...owners, 'status', 'tier', 'mrr', 'arr', 'health', 'colour', 'health_change', 'risk', 'risk_reason', 'expansion', 'expansion_reason', 'term', 'renewal_date', 'days_to_renewal',
          ...(probabilities ? ['churn_probability_90d', 'expansion_probability_90d'] : []),
        ];
        const shown = o.format === 'table' ? cols.filter((c) => !['segment', 'status', 'mrr', 'health_change', 'expansion_reason', ...owners.slice(1)].includes(c)) : cols;
        if (list.length === 0 && o.format === 'table') process.stderr.write('no accounts match\n');
        await writeOutput(o, formatRows(list.map((s) => ({ ...summaryRow(s, owners), ...probabilityOf(s.record.account_id) })), shown, o.format));
      } finally {
        ws.close();
      }
    });

  withDataOptions(program.command('account').description("one account's whole record as of a day: billing, signals, health with every measure, risk and expansion with reasons"), { asOfDate: true })
    .argument('<account>', 'account_id')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(outOption())
    .addHelpText('after', `\nExamples:\n  nrr account A0000042 --data demo\n  nrr account A0000042 --data demo --as-of 2026-01-31 --format json`)
    .action(async (id: string, o: CommonOptions & { format: 'text' | 'json' }) => {
      const ws = await open(o, { signals: true });
      try {
        const [s] = await scoreAccounts(ws, { asOf: o.asOf, accountId: id, includeInactive: true });
        if (!s) throw new NrrError(`no account '${id}' with contract lines started by ${o.asOf ?? 'the reporting month'}`);
        await writeOutput(o, o.format === 'json' ? stringifyJson(s) + '\n' : accountText(s, await signalFilesWithRows(ws)));
      } finally {
        ws.close();
      }
    });

  const health = program.command('health').description('health score tools');
  withDataOptions(health.command('validate').description('do the scores predict? churn and contraction in the next 90 days by health colour and tier, AUC, lift, calibration'))
    .option('--months <n>', 'monthly snapshots of history to score', positiveInt, 12)
    .option('--horizon <days>', 'days after each snapshot in which churn or contraction counts', positiveInt, 90)
    .option('--resamples <n>', 'bootstrap resamples behind each 95 % interval', positiveInt, DEFAULT_RESAMPLES)
    .option('--seed <n>', 'seed of the bootstrap: the same seed gives the same intervals', positiveInt, DEFAULT_SEED)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'md', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Every rate and AUC comes with the number of cases behind it; AUC and lift with a 95 % interval
(percentile bootstrap over accounts). Below ${MIN_EVENTS} cases of an outcome no verdict is given.
Accounts with no signal data are not scored and left out of a score's figures (docs/health.md).

Examples:
  nrr health validate --data demo
  nrr health validate --data demo --months 18 --format json`,
    )
    .action(async (o: CommonOptions & { months: number; horizon: number; resamples: number; seed: number; format: 'table' | 'md' | 'json' }) => {
      const ws = await open(o, { signals: true });
      try {
        const { healthValidity } = await import('../accounts/health-validity.js');
        const v = await healthValidity(ws, { months: o.months, horizonDays: o.horizon, resamples: o.resamples, seed: o.seed });
        process.stdout.write(o.format === 'json' ? stringifyJson(v) + '\n' : validityText(v, o.format));
      } finally {
        ws.close();
      }
    });
}
