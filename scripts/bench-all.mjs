#!/usr/bin/env node
// `npm run bench`: the engine's pipeline against its baselines (dist/bench/bench.js), then the
// workspace store (dist/bench/store-bench.js), on generated data of the same size and seed.
// --accounts, --seed, --out and --json go to both; --changes, --plays, --timeout and --no-slow to the store
// part; every other flag to the first. --only pipeline|store|stripe runs one of them.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BOTH = new Set(['--accounts', '--seed', '--out']);
const STORE = new Set(['--changes', '--plays', '--timeout']);
const args = process.argv.slice(2);
const pipeline = [];
const store = [];
let only = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a] : [a, null];
  const take = () => (inline !== null ? [inline] : [a, args[++i]]);
  if (flag === '--only') only = inline !== null ? inline.split('=')[1] : args[++i];
  else if (flag === '--json') {
    pipeline.push(a);
    store.push(a);
  }
  else if (flag === '--no-slow') store.push(a);
  else if (BOTH.has(flag)) {
    const t = take();
    pipeline.push(...t);
    store.push(...t);
  } else if (STORE.has(flag)) store.push(...take());
  else pipeline.push(a);
}
const run = (script, argv) => {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(new URL(`../dist/bench/${script}`, import.meta.url)), ...argv], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
// --only stripe: signed Stripe webhooks against nrr serve (dist/bench/stripe-webhook-bench.js); other flags go to it.
if (only === 'stripe') {
  run('stripe-webhook-bench.js', args.filter((a, i) => !a.startsWith('--only') && args[i - 1] !== '--only'));
  process.exit(0);
}
if (only !== 'store') run('bench.js', pipeline);
if (only !== 'pipeline') run('store-bench.js', store);
