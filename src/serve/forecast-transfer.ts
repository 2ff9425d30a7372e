import { Money } from '../money.js';
import { DOWNSIDE_COUNT, type Forecast, type ForecastData, type ForecastHead, type SimulatedCompany } from '../forecast/forecast.js';
import type { Predictor } from '../forecast/forecast-model.js';
import { toJson } from './json-text.js';

/**
 * What crosses to the forecast's worker thread and back. Messages are structured clones, which keep
 * plain objects, Maps and Sets but not classes: money crosses as its exact decimal text.
 */
export type ForecastDataMessage = Omit<ForecastData, 'committed' | 't12mStart'> & {
  readonly committed: ReadonlyMap<string, string>;
  readonly t12mStart: ReadonlyMap<string, string>;
};

/** A computed forecast as the server serves it: JSON text, each account's JSON text, the probabilities. */
export interface ForecastAnswer {
  /** The whole forecast, as `GET /api/forecast` answers it (and `nrr forecast --format json` prints it). */
  readonly text: string;
  /** The forecast without its `accounts` list (the downside keeps its ten accounts). */
  readonly summaryText: string;
  /** Each account's entry of `accounts`, as JSON text. */
  readonly accounts: ReadonlyMap<string, string>;
  /** Each account's churn and expansion probability over the horizon. */
  readonly probabilities: ReadonlyMap<string, readonly [churn: number, expansion: number]>;
  readonly as_of: string;
  readonly method: Predictor['method'];
  readonly training: Predictor['training'];
}

/** The worker's answer, with the company's simulation when the forecast is the company's (no filter, no grouping). */
export type WorkerReply = { readonly id: number; readonly answer: ForecastAnswer; readonly company: SimulatedCompany | null } | { readonly id: number; readonly error: string; readonly nrrError: boolean };

/** The buffers of a company's simulation: moved to the other thread rather than copied. */
export function companyBuffers(c: SimulatedCompany | null): ArrayBuffer[] {
  if (c === null) return [];
  const o = c.outcomes;
  return [o.first.buffer, o.moved.buffer, o.offsets.buffer, o.mrr.buffer] as ArrayBuffer[];
}

const texts = (m: ReadonlyMap<string, Money>): Map<string, string> => new Map([...m].map(([k, v]) => [k, v.toString()]));
const amounts = (m: ReadonlyMap<string, string>): Map<string, Money> => new Map([...m].map(([k, v]) => [k, Money.from(v)]));

export function dataMessage(d: ForecastData): ForecastDataMessage {
  return { ...d, committed: texts(d.committed), t12mStart: texts(d.t12mStart) };
}

export function dataFromMessage(m: ForecastDataMessage): ForecastData {
  return { ...m, committed: amounts(m.committed), t12mStart: amounts(m.t12mStart) };
}

/** The answer the server keeps for a forecast. */
export function forecastAnswer(f: Forecast): ForecastAnswer {
  const { accounts, ...rest } = f;
  return {
    text: toJson(f),
    summaryText: toJson(rest),
    accounts: new Map(accounts.map((a) => [a.account_id, toJson(a)])),
    probabilities: new Map(accounts.map((a) => [a.account_id, [a.churn_probability, a.expansion_probability] as const])),
    as_of: f.as_of,
    method: f.method,
    training: f.training,
  };
}

/**
 * The answer of a forecast summed from the company's simulation (forecastHead): its figures, then the
 * company's accounts that the filter keeps, in the company's order (by expected loss, then id, which
 * a subset keeps). Each account's entry is the company's text: an account's forecast does not depend
 * on the filter, so the text is what serialising the whole forecast gives, byte for byte.
 */
export function summedAnswer(head: ForecastHead, company: ForecastAnswer, kept?: ReadonlySet<string>): ForecastAnswer {
  const ids = kept === undefined ? [...company.accounts.keys()] : [...company.accounts.keys()].filter((id) => kept.has(id));
  const texts = ids.map((id) => company.accounts.get(id)!);
  // The forecast's keys in order: the figures, then downside and accounts (Forecast).
  const open = toJson(head).slice(0, -1);
  const downside = `"downside":[${texts.slice(0, DOWNSIDE_COUNT).join(',')}]`;
  return {
    text: `${open},${downside},"accounts":[${texts.join(',')}]}`,
    summaryText: `${open},${downside}}`,
    accounts: new Map(ids.map((id, i) => [id, texts[i]!])),
    probabilities: new Map(ids.map((id) => [id, company.probabilities.get(id)!])),
    as_of: head.as_of,
    method: head.method,
    training: head.training,
  };
}
