import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AccountFilter } from '../engine/account-filter.js';
import { NrrError } from '../errors.js';
import { forecastAndCompanyFromData, forecastHead, headInput, loadForecastData, loadForecastSelection, type ForecastData, type ForecastOptions, type SimulatedCompany } from '../forecast/forecast.js';
import { outcomeBytes } from '../forecast/simulate-revenue.js';
import type { Workspace } from '../workspace/workspace.js';
import { dataMessage, forecastAnswer, summedAnswer, type ForecastAnswer, type WorkerReply } from './forecast-transfer.js';

/** Runs `f` on a connection of the background's own (or, for an engine with one connection, in the queue of the pages' reads). */
export type BackgroundConnection = <T>(f: (ws: Workspace) => Promise<T>) => Promise<T>;

/**
 * How a forecast was computed: `simulation` (the model rows read, fitted and simulated) or `sum`
 * (a filter's or attribute's figures summed from the company's simulation of the same horizon and
 * month: no fit, no simulation).
 */
export type ForecastKind = 'simulation' | 'sum';

/**
 * How many companies' simulations are kept for sums (the last ones computed): each holds every
 * account's outcomes. Overview's fan asks for three horizons (30, 60 and 90 days): with fewer kept,
 * a filter's 90 days found the company's simulation evicted by the 30 and 60 and simulated again.
 */
export const KEPT_SIMULATIONS = 3;
/**
 * A company's simulation is kept for sums when its outcomes take at most this many bytes (about
 * 180 MB at 100,000 accounts and 500 periods; some 300,000 accounts fit). A larger company's filters
 * fit and simulate again, as a forecast of their own.
 */
export const KEPT_OUTCOME_BYTES = 400 * 2 ** 20;

/** A company's forecast as kept for sums: its data, its simulation and its answer (whose accounts a sum lists). */
interface Simulated {
  readonly data: ForecastData;
  readonly company: SimulatedCompany;
  readonly answer: ForecastAnswer;
}

/** Where a forecast stands: being computed, computed, or refused (the reason in words). */
export type ForecastState = { readonly status: 'computing' } | { readonly status: 'ready'; readonly answer: ForecastAnswer } | { readonly status: 'unavailable'; readonly error: Error };

const WORKER = fileURLToPath(new URL('./forecast-worker.js', import.meta.url));

/**
 * The forecasts the server shows, computed beside its answers so that no page waits behind them:
 * the workspace is read on a connection of the background's own, one forecast after another (their
 * temporary tables share names), and the fit and simulation run on a worker thread
 * (forecast-worker.ts). A forecast by an attribute or of a filter's accounts is summed from the
 * company's simulation of the same horizon and month (forecastHead), computed first if need be: the
 * same figures to the last digit, without fitting or simulating again. Each forecast is computed
 * once per options and kept; a failure is kept too (the data does not change under this runner: a
 * new state of the workspace gets a new runner).
 * Run from the TypeScript sources (as in unit tests) there is no compiled worker: the fit and
 * simulation then run on the calling thread, with the same result.
 * @example const text = (await runner.forecast({ horizonDays: 90 })).text
 */
export class ForecastRunner {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly runs = new Map<string, Run>();
  /** The last companies' simulations (at most KEPT_SIMULATIONS), by the key of the company's options. */
  private readonly simulated = new Map<string, Simulated>();
  private nextJob = 1;
  /** The last forecast's data: the next one from the same month reads only what its horizon changes. */
  private lastData: ForecastData | null = null;

  constructor(private readonly background: BackgroundConnection) {}

  /** The forecast for these options: started when first asked for, then kept. */
  forecast(options: ForecastOptions): Promise<ForecastAnswer> {
    return this.run(options).done;
  }

  /** Where the forecast for these options stands, without waiting; `start` starts it when it is not yet asked for. */
  state(options: ForecastOptions, start = true): ForecastState | null {
    const hit = this.runs.get(key(options));
    if (hit || !start) return hit?.state ?? null;
    return this.run(options).state;
  }

  /**
   * Every forecast asked for: its horizon and month, where it stands, and since when (milliseconds
   * of the process clock, Date.now()): what a page that waits on one can say it waits for.
   */
  jobs(): { horizon_days: number; as_of: string | null; where: AccountFilter | null; kind: ForecastKind; status: ForecastState['status']; asked: number; finished: number | null }[] {
    return [...this.runs.values()].map((r) => ({ horizon_days: r.options.horizonDays ?? 90, as_of: r.options.asOf ?? null, where: r.options.where ?? null, kind: r.kind, status: r.state.status, asked: r.asked, finished: r.finished }));
  }

  private run(options: ForecastOptions): Run {
    const k = key(options);
    const hit = this.runs.get(k);
    if (hit) return hit;
    const kind: ForecastKind = summable(options) ? 'sum' : 'simulation';
    const entry: Run = { state: { status: 'computing' }, done: Promise.resolve(null as never), options, kind, asked: Date.now(), finished: null };
    this.runs.set(k, entry);
    const done = kind === 'sum' ? this.summed(options, entry) : this.simulation(options);
    entry.done = done;
    done.then(
      (answer) => ((entry.finished = Date.now()), (entry.state = { status: 'ready', answer })),
      (error: unknown) => ((entry.finished = Date.now()), (entry.state = { status: 'unavailable', error: error instanceof Error ? error : new Error(String(error)) })),
    );
    return entry;
  }

  /** The whole forecast: the data read in the queue, then the fit and simulation; a company's simulation is kept for sums. */
  private simulation(options: ForecastOptions): Promise<ForecastAnswer> {
    const done = this.queue.then(async () => {
      const data = await this.background((ws) => loadForecastData(ws, options, this.lastData ?? undefined));
      this.lastData = data;
      const { answer, company } = existsSync(WORKER) ? await this.inWorker(data) : inThisThread(data);
      if (company !== null && data.filter === undefined && data.byValues === undefined && options.explain === undefined && outcomeBytes(company.outcomes) <= KEPT_OUTCOME_BYTES) {
        this.simulated.delete(key(options));
        this.simulated.set(key(options), { data, company, answer });
        for (const old of this.simulated.keys()) if (this.simulated.size > KEPT_SIMULATIONS) this.simulated.delete(old);
      }
      return answer;
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  /**
   * A forecast by an attribute or of a filter's accounts, summed from the company's simulation (which
   * is computed first when not yet asked for). The attribute's values and the filter's accounts are
   * read on a connection of their own: they need no place in the queue.
   */
  private async summed(options: ForecastOptions, entry: Run): Promise<ForecastAnswer> {
    const companyOptions = ofCompany(options);
    await this.forecast(companyOptions);
    const kept = this.simulated.get(key(companyOptions));
    // Its simulation not kept (too large, or others computed since): the whole forecast, with the same figures.
    if (kept === undefined) {
      entry.kind = 'simulation';
      return this.simulation(options);
    }
    const selection = await this.background((ws) => loadForecastSelection(ws, options));
    const head = forecastHead({ ...headInput(kept.data), ...selection }, kept.company);
    return summedAnswer(head, kept.answer, selection.filter?.accounts);
  }

  private inWorker(data: ForecastData): Promise<{ answer: ForecastAnswer; company: SimulatedCompany | null }> {
    const id = this.nextJob++;
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER);
      worker.unref();
      worker.once('message', (reply: WorkerReply) => {
        void worker.terminate();
        if ('answer' in reply) resolve({ answer: reply.answer, company: reply.company });
        else reject(reply.nrrError ? new NrrError(reply.error) : new Error(reply.error));
      });
      worker.once('error', (e) => reject(e));
      worker.once('exit', (code) => reject(new Error(`the forecast's worker stopped (exit code ${code}) before it answered`)));
      worker.postMessage({ id, data: dataMessage(data) });
    });
  }
}

/** One forecast asked for, where it stands (ForecastRunner.jobs). */
interface Run {
  state: ForecastState;
  done: Promise<ForecastAnswer>;
  readonly options: ForecastOptions;
  kind: ForecastKind;
  readonly asked: number;
  finished: number | null;
}

/** The fit and simulation on this thread (no compiled worker), as the worker does them. */
function inThisThread(data: ForecastData): { answer: ForecastAnswer; company: SimulatedCompany | null } {
  const { forecast, company } = forecastAndCompanyFromData(data, data.filter === undefined && data.byValues === undefined);
  return { answer: forecastAnswer(forecast), company };
}

/**
 * Whether a forecast is summed from the company's: it has a filter or an attribute, and lists every
 * account's reasons (with `explain`, which accounts get reasons depends on the filter).
 */
function summable(o: ForecastOptions): boolean {
  return (o.by !== undefined || o.where !== undefined) && o.explain === undefined;
}

/** The company's forecast whose simulation a filtered or grouped one is summed from. */
function ofCompany(o: ForecastOptions): ForecastOptions {
  return {
    ...(o.horizonDays === undefined ? {} : { horizonDays: o.horizonDays }),
    ...(o.asOf === undefined ? {} : { asOf: o.asOf }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.simulations === undefined ? {} : { simulations: o.simulations }),
    ...(o.trainingMonths === undefined ? {} : { trainingMonths: o.trainingMonths }),
    ...(o.trainingAccounts === undefined ? {} : { trainingAccounts: o.trainingAccounts }),
  };
}

function key(o: ForecastOptions): string {
  return JSON.stringify([o.horizonDays ?? null, o.asOf ?? null, o.by ?? null, o.seed ?? null, o.simulations ?? null, o.explain ?? null, o.where ?? null, o.trainingMonths ?? null, o.trainingAccounts ?? null]);
}
