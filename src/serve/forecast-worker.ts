// The forecast's fit and simulation on a worker thread (ForecastRunner): the server's own thread
// keeps answering while they run. One job a worker: a ForecastDataMessage in, a WorkerReply out.
import { parentPort } from 'node:worker_threads';
import { NrrError } from '../errors.js';
import { forecastFromData } from '../forecast/forecast.js';
import { dataFromMessage, forecastAnswer, type ForecastDataMessage, type WorkerReply } from './forecast-transfer.js';

parentPort?.once('message', ({ id, data }: { id: number; data: ForecastDataMessage }) => {
  let reply: WorkerReply;
  try {
    reply = { id, answer: forecastAnswer(forecastFromData(dataFromMessage(data))) };
  } catch (e) {
    reply = { id, error: e instanceof Error ? e.message : String(e), nrrError: e instanceof NrrError };
  }
  parentPort!.postMessage(reply);
});
