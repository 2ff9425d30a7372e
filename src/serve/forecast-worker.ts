// The forecast's fit and simulation on a worker thread (ForecastRunner): the server's own thread
// keeps answering while they run. One job a worker: a ForecastDataMessage in, a WorkerReply out
// (with the company's simulation, whose buffers move rather than copy).
import { parentPort } from 'node:worker_threads';
import { NrrError } from '../errors.js';
import { forecastAndCompanyFromData } from '../forecast/forecast.js';
import { companyBuffers, dataFromMessage, forecastAnswer, type ForecastDataMessage, type WorkerReply } from './forecast-transfer.js';

parentPort?.once('message', ({ id, data }: { id: number; data: ForecastDataMessage }) => {
  let reply: WorkerReply;
  try {
    const d = dataFromMessage(data);
    // The company's simulation goes back with its answer: the server sums filters from it.
    const { forecast, company } = forecastAndCompanyFromData(d, d.filter === undefined && d.byValues === undefined);
    reply = { id, answer: forecastAnswer(forecast), company };
  } catch (e) {
    reply = { id, error: e instanceof Error ? e.message : String(e), nrrError: e instanceof NrrError };
  }
  parentPort!.postMessage(reply, 'company' in reply ? companyBuffers(reply.company) : []);
});
