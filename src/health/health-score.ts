import type { HealthConfig, HealthDefinition, MeasureBand, MeasureName } from './health-config.js';

export type Colour = 'red' | 'yellow' | 'green';
export type Band = 'healthy' | 'between' | 'at_risk' | 'missing';

export interface MeasureScore {
  readonly measure: MeasureName;
  readonly group: string;
  /** The record's value; null when missing. */
  readonly value: number | null;
  /** The value scored (the configured `missing_value` when the record had none). */
  readonly scored: number | null;
  readonly band: Band;
  /** Points earned, out of `weight`; null when left out under the reweight policy. */
  readonly points: number | null;
  readonly weight: number;
}

export interface HealthScore {
  /** 0–100; null when every measure is missing. */
  readonly score: number | null;
  readonly colour: Colour | null;
  /** Which definition was used: 'default' or the segment's name. */
  readonly definition: string;
  readonly measures: readonly MeasureScore[];
  readonly missing: readonly MeasureName[];
  /** Points per group, out of the group's weight. */
  readonly groups: Readonly<Record<string, { points: number; weight: number }>>;
  /** Why there is no score although measures were scored: 'no signal data' (see account-records.ts). */
  readonly not_scored?: string;
}

/** Points of one measure: all at `healthy` or beyond, none at `at_risk` or beyond, linear between. */
export function bandPoints(value: number, band: MeasureBand): { points: number; band: Band } {
  const t = (value - band.at_risk) / (band.healthy - band.at_risk);
  if (t >= 1) return { points: band.weight, band: 'healthy' };
  if (t <= 0) return { points: 0, band: 'at_risk' };
  return { points: band.weight * t, band: 'between' };
}

export function colourOf(score: number, config: Pick<HealthConfig, 'green' | 'yellow'>): Colour {
  return score >= config.green ? 'green' : score >= config.yellow ? 'yellow' : 'red';
}

/** The definition that applies to an account: its segment's, else the default. */
export function definitionFor(config: HealthConfig, segment: string | null | undefined): { name: string; def: HealthDefinition } {
  const own = segment != null ? config.segments[segment] : undefined;
  return own ? { name: segment!, def: own } : { name: 'default', def: config.default };
}

/**
 * Scores one account record: every measure's value, band and points, what was missing, and the total.
 * @example scoreHealth({ usage_trend_90d: -0.15 }, config, null).measures[0].points // half the weight
 */
export function scoreHealth(
  record: Readonly<Partial<Record<MeasureName, number | null>>>,
  config: HealthConfig,
  segment: string | null | undefined,
): HealthScore {
  const { name, def } = definitionFor(config, segment);
  const measures: MeasureScore[] = [];
  const missing: MeasureName[] = [];
  const groups: Record<string, { points: number; weight: number }> = {};
  let points = 0;
  let weight = 0;
  for (const [m, band] of Object.entries(def.measures) as [MeasureName, MeasureBand][]) {
    const raw = record[m];
    const value = raw === undefined || raw === null || Number.isNaN(raw) ? null : raw;
    const scored = value ?? band.missing_value ?? null;
    let earned: number | null;
    let b: Band;
    if (scored !== null) {
      const p = bandPoints(scored, band);
      earned = p.points;
      b = value === null ? 'missing' : p.band;
    } else {
      b = 'missing';
      earned = def.missing === 'reweight' ? null : def.missing === 'zero' ? 0 : band.weight / 2;
    }
    if (value === null) missing.push(m);
    measures.push({ measure: m, group: band.group, value, scored, band: b, points: earned, weight: band.weight });
    if (earned !== null) {
      points += earned;
      weight += band.weight;
      const g = (groups[band.group] ??= { points: 0, weight: 0 });
      g.points += earned;
      g.weight += band.weight;
    }
  }
  const score = weight > 0 ? (100 * points) / weight : null;
  return { score, colour: score === null ? null : colourOf(score, config), definition: name, measures, missing, groups };
}

export interface HealthChange {
  readonly from: number | null;
  readonly to: number | null;
  readonly delta: number | null;
  /** Measures whose points moved, largest move first, in points of the 0–100 score. */
  readonly movers: readonly { measure: MeasureName; from: number | null; to: number | null; delta: number }[];
}

/** How the score moved between two snapshots, and which measures moved it. */
export function compareHealth(previous: HealthScore, current: HealthScore): HealthChange {
  const scale = (s: HealthScore): number => {
    const w = s.measures.reduce((sum, m) => sum + (m.points === null ? 0 : m.weight), 0);
    return w > 0 ? 100 / w : 0;
  };
  const [ps, cs] = [scale(previous), scale(current)];
  const before = new Map(previous.measures.map((m) => [m.measure, m]));
  const movers = current.measures
    .map((m) => {
      const p = before.get(m.measure);
      const from = p?.points == null ? null : p.points * ps;
      const to = m.points === null ? null : m.points * cs;
      return { measure: m.measure, from: p?.value ?? null, to: m.value, delta: (to ?? 0) - (from ?? 0) };
    })
    .filter((m) => Math.abs(m.delta) >= 0.05)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
  const delta = previous.score === null || current.score === null ? null : current.score - previous.score;
  return { from: previous.score, to: current.score, delta, movers };
}
