import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AccountFilter } from '../engine/account-filter.js';
import { NrrError } from '../errors.js';
import { forecastFromData, loadForecastData, type ForecastData, type ForecastOptions } from '../forecast/forecast.js';
import type { Workspace } from '../workspace/workspace.js';
import { dataMessage, forecastAnswer, type ForecastAnswer, type WorkerReply } from './forecast-transfer.js';

/** Runs `f` on a connection of the background's own (or, for an engine with one connection, in the queue of the pages' reads). */
export type BackgroundConnection = <T>(f: (ws: Workspace) => Promise<T>) => Promise<T>;

/** Where a forecast stands: being computed, computed, or refused (the reason in words). */
export type ForecastState = { readonly status: 'computing' } | { readonly status: 'ready'; readonly answer: ForecastAnswer } | { readonly status: 'unavailable'; readonly error: Error };

const WORKER = fileURLToPath(new URL('./forecast-worker.js', import.meta.url));

/**
 * The forecasts the server shows, computed beside its answers so that no page waits behind them:
 * the workspace is read on a connection of the background's own, one forecast after another (their
 * temporary tables share names), and the fit and simulation run on a worker thread
 * (forecast-worker.ts). Each forecast is computed once per options and kept; a failure is kept too
 * (the data does not change under this runner: a new state of the workspace gets a new runner).
 * Run from the TypeScript sources (as in unit tests) there is no compiled worker: the fit and
 * simulation then run on the calling thread, with the same result.
 * @example const text = (await runner.forecast({ horizonDays: 90 })).text
 */
export class ForecastRunner {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly runs = new Map<string, { state: ForecastState; done: Promise<ForecastAnswer>; options: ForecastOptions; asked: number; finished: number | null }>();
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
  jobs(): { horizon_days: number; as_of: string | null; where: AccountFilter | null; status: ForecastState['status']; asked: number; finished: number | null }[] {
    return [...this.runs.values()].map((r) => ({ horizon_days: r.options.horizonDays ?? 90, as_of: r.options.asOf ?? null, where: r.options.where ?? null, status: r.state.status, asked: r.asked, finished: r.finished }));
  }

  private run(options: ForecastOptions): { state: ForecastState; done: Promise<ForecastAnswer> } {
    const k = key(options);
    const hit = this.runs.get(k);
    if (hit) return hit;
    const entry: { state: ForecastState; done: Promise<ForecastAnswer>; options: ForecastOptions; asked: number; finished: number | null } = {
      state: { status: 'computing' },
      done: Promise.resolve(null as never),
      options,
      asked: Date.now(),
      finished: null,
    };
    const done = this.queue.then(async () => {
      const data = await this.background((ws) => loadForecastData(ws, options, this.lastData ?? undefined));
      this.lastData = data;
      return existsSync(WORKER) ? this.inWorker(data) : forecastAnswer(forecastFromData(data));
    });
    this.queue = done.catch(() => undefined);
    entry.done = done;
    done.then(
      (answer) => ((entry.finished = Date.now()), (entry.state = { status: 'ready', answer })),
      (error: unknown) => ((entry.finished = Date.now()), (entry.state = { status: 'unavailable', error: error instanceof Error ? error : new Error(String(error)) })),
    );
    this.runs.set(k, entry);
    return entry;
  }

  private inWorker(data: ForecastData): Promise<ForecastAnswer> {
    const id = this.nextJob++;
    return new Promise<ForecastAnswer>((resolve, reject) => {
      const worker = new Worker(WORKER);
      worker.unref();
      worker.once('message', (reply: WorkerReply) => {
        void worker.terminate();
        if ('answer' in reply) resolve(reply.answer);
        else reject(reply.nrrError ? new NrrError(reply.error) : new Error(reply.error));
      });
      worker.once('error', (e) => reject(e));
      worker.once('exit', (code) => reject(new Error(`the forecast's worker stopped (exit code ${code}) before it answered`)));
      worker.postMessage({ id, data: dataMessage(data) });
    });
  }
}

function key(o: ForecastOptions): string {
  return JSON.stringify([o.horizonDays ?? null, o.asOf ?? null, o.by ?? null, o.seed ?? null, o.simulations ?? null, o.explain ?? null, o.where ?? null]);
}
