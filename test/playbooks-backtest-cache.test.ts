import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, generateCompany } from '../src/index.js';
import { backtest } from '../src/playbooks/backtest.js';
import { backtestCachePath, backtestJson, storedBacktest } from '../src/playbooks/backtest-cache.js';
import { createApp } from '../src/serve/api-app.js';
import { removeDir } from './helpers/fixture-dir.js';

/**
 * The Playbooks page reads the backtest kept beside the workspace store: the same answer as a
 * replay and as `nrr playbooks backtest`, replayed again once the data changes.
 */
const DAY = '2026-07-01';
const TODAY = new Date(`${DAY}T00:00:00Z`);
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-backtest-kept-'));
  await generateCompany({ out: dir, accounts: 200, months: 24, seed: 5, end: '2026-06' });
}, 120_000);
afterAll(() => removeDir(dir));

const open = () => Workspace.open({ data: dir, signals: true, today: TODAY });

describe('the backtest kept beside the store', () => {
  it('a second server reads the first one’s answer, which equals a replay and the CLI’s', async () => {
    let ws = await open();
    let first: string;
    try {
      expect(ws.summary.store, 'the workspace reads a store').not.toBeNull();
      const res = await createApp(ws).request('/api/playbooks/backtest');
      expect(res.status).toBe(200);
      first = await res.text();
      expect(existsSync(backtestCachePath(ws.summary.store!.path))).toBe(true);
      // What was kept is what a replay gives.
      expect(JSON.parse(first)).toEqual(JSON.parse(backtestJson(await backtest(ws))));
      const plays = (JSON.parse(first) as { plays: { fires: number }[] }).plays;
      expect(plays.length).toBeGreaterThan(0);
      expect(plays.some((p) => p.fires > 0)).toBe(true);
    } finally {
      ws.close();
    }

    ws = await open();
    try {
      const again = await storedBacktest(ws);
      expect(again.kept).toBe(true);
      expect(again.text).toBe(first);
      expect(await (await createApp(ws).request('/api/playbooks/backtest')).text()).toBe(first);
    } finally {
      ws.close();
    }

    const cli = spawnSync(process.execPath, [BIN, 'playbooks', 'backtest', '--data', dir, '--format', 'json', '-q'], { encoding: 'utf8', env: { ...process.env, NRR_TODAY: DAY } });
    expect(cli.status, cli.stderr).toBe(0);
    // The CLI writes money as JSON numbers with every digit, the API as text: read both digit for digit.
    const digits = (text: string): unknown => parseLossless(text, null, (n: string) => n);
    expect(digits(cli.stdout)).toEqual(digits(first));
  }, 240_000);

  it('a changed file is a new state: replayed, not read', async () => {
    let ws = await open();
    const path = backtestCachePath(ws.summary.store!.path);
    const before = JSON.parse(readFileSync(path, 'utf8')) as { key: string };
    ws.close();
    // One more support ticket (a copy of the last under a new id) changes the store's state.
    const tickets = join(dir, 'tickets.csv');
    const last = readFileSync(tickets, 'utf8').trim().split('\n').at(-1)!.split(',');
    appendFileSync(tickets, `${[`${last[0]}-extra`, ...last.slice(1)].join(',')}\n`);
    ws = await open();
    try {
      const after = await storedBacktest(ws);
      expect(after.kept).toBe(false);
      expect((JSON.parse(readFileSync(path, 'utf8')) as { key: string }).key).not.toBe(before.key);
      expect(JSON.parse(after.text)).toEqual(JSON.parse(backtestJson(await backtest(ws))));
    } finally {
      ws.close();
    }
  }, 240_000);
});
