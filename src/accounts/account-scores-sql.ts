import type { Dialect } from '../engine/dialect.js';
import { MEASURES, type HealthConfig, type HealthDefinition, type MeasureBand, type MeasureName } from '../health/health-config.js';
import { MEASURE_SOURCES } from './measure-sources.js';
import { EXPANSION_SOURCES, NO_SIGNAL_DATA, RISK_SOURCES } from './risk-scores.js';
import type { Tiers } from './tiering.js';
import { sqlAccountIn, type AccountSet } from './account-record-sql.js';

/**
 * The scores of account records in SQL: health (every measure's band and points, per definition and
 * segment), churn risk and expansion readiness with their reasons in words, the tier, and the health
 * change since `compare_days` earlier. The same definitions as health-score.ts and risk-scores.ts,
 * with the same arithmetic in the same order on doubles, so every score is the same to the last bit;
 * the config's numbers and names are compiled in as typed literals, never as text of the user's.
 *
 * Columns added to the record's (see `SCORE_COLUMNS` in account-scores.ts).
 */

/** A number of the config as a DOUBLE (a bare `0.8` would be a DECIMAL in DuckDB). */
const num = (x: number): string => {
  if (!Number.isFinite(x)) throw new Error(`not a finite number: ${x}`);
  return `CAST('${String(x)}' AS DOUBLE)`;
};

/** Math.round of JavaScript (halves up, towards +∞), as a DOUBLE. */
const jsRound = (x: string): string => `(CASE WHEN (${x}) - floor(${x}) >= 0.5 THEN floor(${x}) + 1 ELSE floor(${x}) END)`;
/** A whole number as JavaScript prints it. */
const whole = (x: string): string => `CAST(CAST(${x} AS BIGINT) AS VARCHAR)`;
/** risk-scores.ts `pct`: "+12 %", "−41 %", "0 %". */
const pct = (x: string): string => `(CASE WHEN ${x} > 0 THEN '+' WHEN ${x} < 0 THEN '−' ELSE '' END || ${whole(`abs(${jsRound(`${x} * 100`)})`)} || ' %')`;
/** risk-scores.ts `plural`: "1 day", "54 days". */
const plural = (n: string, one: string, many = `${one}s`): string => `(${whole(n)} || (CASE WHEN ${n} = 1 THEN ' ${one}' ELSE ' ${many}' END))`;
const reason = (i: number, when: string, points: string, text: string): string =>
  `CASE WHEN ${when} THEN {i: ${i}, points: CAST(${points} AS DOUBLE), text: CAST(${text} AS VARCHAR)} END`;
const sqlList = (xs: readonly string[]): string => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** The reasons kept (risk-scores.ts `finish`): those with points, times `factor`, largest first (ties in the order found). */
const finish = (reasons: string, factor: string): string =>
  `list_transform(list_sort(list_transform(list_filter(${reasons}, x -> x IS NOT NULL AND x.points > 0), x -> {k: -(x.points * ${factor}), i: x.i, points: x.points * ${factor}, text: x.text})), x -> {points: x.points, text: x.text})`;

/** The reasons of churn risk (risk-scores.ts `churnRisk`), in the order they are found. */
function churnReasons(): string {
  const renewal = `(CASE WHEN days_to_renewal <= 120 THEN ', renewal in ' || ${plural('days_to_renewal', 'day')} ELSE '' END)`;
  return `[${[
    reason(1, `usage_trend_90d < ${num(-0.05)}`, 'least(35, 60 * -usage_trend_90d)', `'usage ' || ${pct('usage_trend_90d')} || ' against the prior 90 days' || ${renewal}`),
    reason(2, `usage_trend_30d < ${num(-0.1)}`, 'least(20, 30 * -usage_trend_30d)', `'usage ' || ${pct('usage_trend_30d')} || ' in the last 30 days against the 90 before'`),
    `CASE WHEN days_since_sponsor_left <= 180 THEN {i: 3, points: CAST(20 AS DOUBLE), text: CAST('executive sponsor left ' || ${plural('days_since_sponsor_left', 'day')} || ' ago, no successor' AS VARCHAR)}
          WHEN sponsor_present AND days_since_sponsor_engaged > 90 THEN {i: 3, points: CAST(8 AS DOUBLE), text: CAST('executive sponsor last engaged ' || ${whole('days_since_sponsor_engaged')} || ' days ago' AS VARCHAR)} END`,
    reason(4, 'reviews_missed_180d > 0', 'least(16, 8 * reviews_missed_180d)', `${plural('reviews_missed_180d', 'business review')} || ' skipped or cancelled in 180 days'`),
    reason(5, 'escalations_90d > 0', 'least(16, 4 + 6 * escalations_90d)', `${plural('escalations_90d', 'escalated ticket')} || ' in 90 days'`),
    reason(6, 'activation_achieved = 0', '12', `'activation not reached' || coalesce(' (due ' || CAST(activation_due AS VARCHAR) || ')', '')`),
    reason(7, `seat_utilisation < ${num(0.5)}`, `4 + 20 * (${num(0.5)} - seat_utilisation)`, `'seat utilisation ' || ${whole(jsRound('seat_utilisation * 100'))} || ' %' || ${renewal}`),
    reason(8, `mrr_change_90d <= ${num(-0.1)}`, '8', `'MRR ' || ${pct('mrr_change_90d')} || ' in 90 days'`),
    reason(9, 'monthly_terms', '6', `'monthly contract: it can end any month'`),
  ].join(',\n      ')}]`;
}

/** The reasons of expansion readiness (risk-scores.ts `expansionReadiness`). */
function expansionReasons(): string {
  const months = 'coalesce(months_above_80, 1)';
  return `[${[
    reason(
      1,
      `seat_utilisation > ${num(0.8)}`,
      `25 + least(15, 5 * (${months} - 1)) + 40 * least(${num(0.2)}, seat_utilisation - ${num(0.8)})`,
      `'seat utilisation ' || ${whole(jsRound('seat_utilisation * 100'))} || ' % for ' || ${plural(months, 'month')}`,
    ),
    reason(2, `headcount_change_12m >= ${num(0.1)}`, `least(20, 10 + 40 * (headcount_change_12m - ${num(0.1)}))`, `'headcount ' || ${pct('headcount_change_12m')} || ' in 12 months'`),
    reason(3, 'days_since_funding <= 365', '20', `'raised ' || coalesce(last_funding_round, 'a round') || ' ' || ${plural('days_since_funding', 'day')} || ' ago'`),
    reason(4, 'adjacent_users_30d >= 1', 'least(15, 5 + 2 * adjacent_users_30d)', `${plural(jsRound('adjacent_users_30d'), 'user')} || ' a week try features of a product not yet bought'`),
    reason(5, `usage_trend_90d >= ${num(0.15)}`, '10', `'usage ' || ${pct('usage_trend_90d')} || ' against the prior 90 days'`),
    reason(6, 'open_expansion_opportunities > 0', '5', plural('open_expansion_opportunities', 'open expansion opportunity', 'open expansion opportunities')),
  ].join(',\n      ')}]`;
}

/** One definition's measures as a list of structs, in the definition's order (health-score.ts `scoreHealth`). */
function definitionMeasures(def: HealthDefinition, d: Dialect): string {
  const items = (Object.entries(def.measures) as [MeasureName, MeasureBand][]).map(([m, band]) => {
    const value = `v_${m}`;
    const scored = band.missing_value === undefined ? value : `coalesce(${value}, ${num(band.missing_value)})`;
    const t = `((${scored} - ${num(band.at_risk)}) / (${num(band.healthy)} - ${num(band.at_risk)}))`;
    const weight = num(band.weight);
    const none = def.missing === 'reweight' ? 'CAST(NULL AS DOUBLE)' : def.missing === 'zero' ? 'CAST(0 AS DOUBLE)' : num(band.weight / 2);
    return `{measure: '${m}', "group": CAST(${d.quoteString(band.group)} AS VARCHAR), value: ${value}, scored: ${scored},
        band: CASE WHEN ${value} IS NULL THEN 'missing' WHEN ${t} >= 1 THEN 'healthy' WHEN ${t} <= 0 THEN 'at_risk' ELSE 'between' END,
        points: CASE WHEN ${scored} IS NULL THEN ${none} WHEN ${t} >= 1 THEN ${weight} WHEN ${t} <= 0 THEN CAST(0 AS DOUBLE) ELSE ${weight} * ${t} END,
        weight: ${weight}, source: '${MEASURE_SOURCES[m]}'}`;
  });
  return `[${items.join(',\n      ')}]`;
}

export interface ScoreSqlOptions {
  /** A SELECT of the records (one row per account × snapshot_date, the columns of account_records without attributes). */
  readonly records: string;
  /** The account attribute that picks a segment's definition, when the accounts have it. */
  readonly segmentAttribute: string | null;
  /** Days whose rows are kept (the records may hold earlier days, for the change). */
  readonly keep: readonly string[];
  /** The accounts the records are restricted to (null or absent: every account). */
  readonly accounts?: AccountSet | null;
  /** Compute the change against the record `compare_days` earlier (which `records` must hold). */
  readonly change: boolean;
}

/** A SELECT of the records with their scores (CTEs in `records` come first). */
export function sqlScoresSelect(d: Dialect, health: HealthConfig, tiers: Tiers, o: ScoreSqlOptions): string {
  const q = d.quoteIdent;
  const segments = Object.entries(health.segments);
  const segment = o.segmentAttribute === null ? 'CAST(NULL AS VARCHAR)' : `CAST(a.${q(o.segmentAttribute)} AS VARCHAR)`;
  // The definition of the account's segment, else the default (without segments, the default).
  const bySegment = (of: (name: string, def: HealthDefinition) => string, otherwise: string): string =>
    segments.length === 0
      ? otherwise
      : ['CASE', ...segments.map(([name, def]) => `WHEN seg = ${d.quoteString(name)} THEN ${of(name, def)}`), `ELSE ${otherwise} END`].join('\n    ');
  const measures = bySegment((_, def) => definitionMeasures(def, d), definitionMeasures(health.default, d));
  const definition = bySegment((name) => d.quoteString(name), `'default'`);
  const values = (Object.keys(MEASURES) as MeasureName[]).map((m) => `CASE WHEN isnan(CAST(r.${m} AS DOUBLE)) THEN NULL ELSE CAST(r.${m} AS DOUBLE) END AS v_${m}`);
  const fold = (list: string, of: string): string => `list_reduce(list_transform(${list}, m -> ${of}), (a, b) -> a + b, CAST(0 AS DOUBLE))`;
  const churn = finish(churnReasons(), `(CASE WHEN NOT monthly_terms AND days_to_renewal > 180 THEN ${num(0.5)} ELSE ${num(1)} END)`);
  const expansion = finish(expansionReasons(), num(1));
  const level = (x: string): string => `CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} >= 40 THEN 'high' WHEN ${x} >= 20 THEN 'medium' ELSE 'low' END`;
  const tierNumber = new Map(tiers.map((t, i) => [t.name, i + 1]));
  const arrNumber = 'CAST(CAST(arr AS VARCHAR) AS DOUBLE)'; // as Money.toNumber: the nearest double to the exact ARR
  const tierCase = (what: 'name' | 'number'): string =>
    `CASE ${tiers
      .map((t) => {
        const label = what === 'name' ? d.quoteString(t.name) : String(tierNumber.get(t.name));
        if (t.when.length === 0) return `WHEN TRUE THEN ${label}`;
        const conds = t.when.map((c) =>
          [
            ...(c.min_arr === undefined ? [] : [`${arrNumber} >= ${num(c.min_arr)}`]),
            ...(c.min_expansion_readiness === undefined ? [] : [`coalesce(expansion_readiness, 0) >= ${num(c.min_expansion_readiness)}`]),
          ].join(' AND '),
        );
        return `WHEN (${conds.join(') OR (')}) THEN ${label}`;
      })
      .join(' ')} ELSE ${what === 'name' ? d.quoteString(tiers.at(-1)!.name) : String(tierNumber.get(tiers.at(-1)!.name))} END`;
  const notScored = d.quoteString(NO_SIGNAL_DATA);
  const scale = (w: string): string => `(CASE WHEN ${w} > 0 THEN 100 / ${w} ELSE CAST(0 AS DOUBLE) END)`;
  const movers = `list_transform(list_sort(list_filter(list_transform(c.health_measures, (m, i) -> {
        k: -abs(coalesce(m.points * ${scale('c.health_weight')}, 0) - coalesce(list_filter(p.health_measures, x -> x.measure = m.measure)[1].points * ${scale('p.health_weight')}, 0)),
        i: i, measure: m.measure, "from": list_filter(p.health_measures, x -> x.measure = m.measure)[1].value, "to": m.value,
        delta: coalesce(m.points * ${scale('c.health_weight')}, 0) - coalesce(list_filter(p.health_measures, x -> x.measure = m.measure)[1].points * ${scale('p.health_weight')}, 0)}),
      x -> abs(x.delta) >= ${num(0.05)})), x -> {measure: x.measure, "from": x."from", "to": x."to", delta: x.delta})`;
  const keep = o.keep.map((x) => `CAST(${d.quoteString(x)} AS DATE)`).join(', ');
  return `WITH records AS MATERIALIZED (
  ${o.records}
  ),
  scored_values AS (
    SELECT r.*, ${segment} AS seg, ${values.join(', ')}
    FROM records r LEFT JOIN (SELECT * FROM accounts a WHERE ${o.accounts ? sqlAccountIn(d, 'a.account_id', o.accounts) : 'TRUE'}) a ON a.account_id = r.account_id
  ),
  scored_measures AS (
    SELECT * EXCLUDE (${(Object.keys(MEASURES) as MeasureName[]).map((m) => `v_${m}`).join(', ')}),
      ${definition} AS health_definition,
      ${measures} AS hm,
      CASE WHEN list_has_any(signal_sources, ${sqlList(RISK_SOURCES)}) THEN ${churn} END AS risk_reasons,
      CASE WHEN list_has_any(signal_sources, ${sqlList(EXPANSION_SOURCES)}) THEN ${expansion} END AS expansion_reasons,
      CASE WHEN NOT monthly_terms AND days_to_renewal > 180 THEN 'points halved: renewal not for ' || ${whole('days_to_renewal')} || ' days' END AS halved
    FROM scored_values
  ),
  scored_sums AS (
    SELECT *,
      ${fold('hm', 'coalesce(m.points, 0)')} AS hp,
      ${fold('hm', 'CASE WHEN m.points IS NULL THEN 0 ELSE m.weight END')} AS health_weight,
      len(list_filter(hm, m -> m.value IS NOT NULL AND (m.source = 'billing' OR list_contains(signal_sources, m.source)))) > 0 AS own,
      list_filter(hm, m -> m.points IS NOT NULL) AS earned
    FROM scored_measures
  ),
  scored AS (
    SELECT * EXCLUDE (seg, hm, hp, own, earned, halved, risk_reasons, expansion_reasons),
      CASE WHEN own AND health_weight > 0 THEN (100 * hp) / health_weight END AS health_score,
      CASE WHEN NOT own THEN ${notScored} END AS health_not_scored,
      list_transform(hm, m -> {measure: m.measure, "group": m."group", value: m.value, scored: m.scored, band: m.band, points: m.points, weight: m.weight}) AS health_measures,
      list_transform(list_filter(hm, m -> m.value IS NULL), m -> m.measure) AS health_missing,
      list_transform(
        list_filter(list_transform(earned, (m, i) -> CASE WHEN list_position(list_transform(earned, x -> x."group"), m."group") = i THEN m."group" END), g -> g IS NOT NULL),
        g -> {"group": g, points: ${fold('list_filter(earned, x -> x."group" = g)', 'm.points')}, weight: ${fold('list_filter(earned, x -> x."group" = g)', 'm.weight')}}
      ) AS health_groups,
      -- The sum in the order of the reasons, largest first, as risk-scores.ts adds them up.
      CASE WHEN risk_reasons IS NOT NULL THEN least(100, ${fold('risk_reasons', 'm.points')}) END AS churn_risk,
      risk_reasons,
      CASE WHEN len(risk_reasons) > 0 THEN halved END AS risk_note,
      CASE WHEN risk_reasons IS NULL THEN ${notScored} END AS risk_not_scored,
      CASE WHEN expansion_reasons IS NOT NULL THEN least(100, ${fold('expansion_reasons', 'm.points')}) END AS expansion_readiness,
      expansion_reasons,
      CASE WHEN expansion_reasons IS NULL THEN ${notScored} END AS expansion_not_scored
    FROM scored_sums
  ),
  -- Read twice for the change (the row and the one compare_days before): computed once.
  leveled AS ${o.change ? 'MATERIALIZED ' : ''}(
    SELECT *,
      CASE WHEN health_score IS NULL THEN NULL WHEN health_score >= ${num(health.green)} THEN 'green' WHEN health_score >= ${num(health.yellow)} THEN 'yellow' ELSE 'red' END AS health_colour,
      ${level('churn_risk')} AS risk_level,
      ${level('expansion_readiness')} AS expansion_level,
      ${tierCase('name')} AS tier,
      ${tierCase('number')} AS tier_number
    FROM scored
  )
  SELECT c.*,
    ${o.change ? 'p.account_id IS NOT NULL AND p.health_not_scored IS NULL AND c.health_not_scored IS NULL' : 'FALSE'} AS has_health_change,
    ${o.change ? 'p.health_score' : 'CAST(NULL AS DOUBLE)'} AS health_change_from,
    ${o.change ? 'CASE WHEN p.account_id IS NOT NULL AND p.health_not_scored IS NULL AND c.health_not_scored IS NULL THEN c.health_score - p.health_score END' : 'CAST(NULL AS DOUBLE)'} AS health_change,
    ${o.change ? `CASE WHEN p.account_id IS NOT NULL AND p.health_not_scored IS NULL AND c.health_not_scored IS NULL THEN ${movers} END` : 'NULL'} AS health_change_movers
  FROM leveled c
  ${o.change ? `LEFT JOIN leveled p ON p.account_id = c.account_id AND p.active AND p.snapshot_date = c.snapshot_date - INTERVAL ${health.compare_days} DAY` : ''}
  WHERE c.snapshot_date IN (${keep})`;
}
