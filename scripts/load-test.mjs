// Local load test of `nrr serve` on the demo company: requests per second and latency per endpoint.
// Usage: npm run load-test [-- --seconds 5 --concurrency 16 --data demo]
// The demo company is generated into --data when it is missing or stale; a folder holding data files
// that nrr did not write is refused and left as it is.
import { parseArgs } from 'node:util';
import { NrrError, Workspace } from '../dist/index.js';
import { ensureDemo } from '../dist/generate/demo-folder.js';
import { startServer } from '../dist/serve/start-server.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '16' }, data: { type: 'string', default: 'demo' } } });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
try {
  await ensureDemo(values.data, {});
} catch (e) {
  if (!(e instanceof NrrError)) throw e;
  console.error(`error: ${e.message}`);
  process.exit(1);
}
const ws = await Workspace.open({ data: values.data, signals: true });
const server = await startServer(ws, { port: 0, host: '127.0.0.1' });
const base = server.url.replace(/\/$/, '');
const endpoints = ['/api/metrics?window=12', '/api/metrics?window=12&by=segment', '/api/accounts?sort=risk&limit=50', '/api/accounts/A0000042', '/api/tasks', '/overview'];

async function measure(path) {
  await fetch(base + path).then((r) => r.arrayBuffer()); // warm: the first answer is computed, later ones are served from memory
  const latencies = [];
  const end = performance.now() + seconds * 1000;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const r = await fetch(base + path, { headers: { 'accept-encoding': 'gzip' } });
        await r.arrayBuffer();
        if (!r.ok) failed++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
  return { endpoint: path, requests: latencies.length, 'req/s': Math.round(latencies.length / seconds), 'p50 ms': q(0.5), 'p95 ms': q(0.95), failed };
}

const rows = [];
for (const e of endpoints) rows.push(await measure(e));
console.log(`nrr serve on ${values.data}: ${concurrency} concurrent clients, ${seconds} s per endpoint, one process, Node ${process.version}`);
console.table(rows);
await server.close();
ws.close();
