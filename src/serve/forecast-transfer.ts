import { Money } from '../money.js';
import type { Forecast, ForecastData } from '../forecast/forecast.js';
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

export type WorkerReply = { readonly id: number; readonly answer: ForecastAnswer } | { readonly id: number; readonly error: string; readonly nrrError: boolean };

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
