import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forecast, type ForecastOptions } from '../src/forecast/forecast.js';
import { ForecastRunner, KEPT_SIMULATIONS } from '../src/serve/forecast-runner.js';
import { forecastAnswer } from '../src/serve/forecast-transfer.js';
import { Workspace } from '../src/workspace/workspace.js';

// The example company (150 accounts, reporting month 2025-12), today pinned.
let dir = '';
let ws: Workspace;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-fc-runner-'));
  cpSync('examples/acme', dir, { recursive: true });
  rmSync(join(dir, '.nrr'), { recursive: true, force: true });
  ws = await Workspace.open({ data: dir, signals: true, store: false, today: new Date('2026-01-15T00:00:00Z') });
}, 60_000);

afterAll(() => {
  ws?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The answer the library's own forecast gives (loaded, fitted and simulated for these options alone). */
const direct = async (o: ForecastOptions) => forecastAnswer(await forecast(ws, o));

describe("the server's filtered forecasts, summed from the company's simulation", () => {
  it('are the text a forecast of their own gives, byte for byte, and fit nothing again', async () => {
    const runner = new ForecastRunner((f) => f(ws));
    const company = await runner.forecast({ horizonDays: 90, simulations: 300 });
    const cases: ForecastOptions[] = [
      { horizonDays: 90, simulations: 300, where: { segment: 'enterprise' } },
      { horizonDays: 90, simulations: 300, by: 'segment' },
      { horizonDays: 90, simulations: 300, where: { region: 'EMEA' }, by: 'segment' },
      // A filter that keeps no account.
      { horizonDays: 90, simulations: 300, where: { segment: 'enterprize' } },
    ];
    for (const o of cases) {
      const summed = await runner.forecast(o);
      const own = await direct(o);
      expect(summed.text).toBe(own.text);
      expect(summed.summaryText).toBe(own.summaryText);
      expect([...summed.accounts]).toEqual([...own.accounts]);
      expect([...summed.probabilities]).toEqual([...own.probabilities]);
    }
    // Not the company's answer (the test can fail): the filter changes the figures and the accounts.
    const enterprise = JSON.parse((await runner.forecast(cases[0]!)).summaryText) as { account_count: number; starting_mrr: string };
    const all = JSON.parse(company.summaryText) as { account_count: number; starting_mrr: string };
    expect(enterprise.account_count).toBe(29);
    expect(all.account_count).toBe(132);
    expect(enterprise.starting_mrr).not.toBe(all.starting_mrr);
    // One simulation (the company's); every other forecast a sum.
    expect(runner.jobs().map((j) => [j.where, j.kind, j.status])).toEqual([
      [null, 'simulation', 'ready'],
      [{ segment: 'enterprise' }, 'sum', 'ready'],
      [null, 'sum', 'ready'],
      [{ region: 'EMEA' }, 'sum', 'ready'],
      [{ segment: 'enterprize' }, 'sum', 'ready'],
    ]);
  }, 120_000);

  it("a filter asked for first computes the company's simulation, then sums; other horizons are their own", async () => {
    const runner = new ForecastRunner((f) => f(ws));
    const o60: ForecastOptions = { horizonDays: 60, simulations: 200, where: { segment: 'smb' } };
    expect((await runner.forecast(o60)).text).toBe((await direct(o60)).text);
    const o120: ForecastOptions = { horizonDays: 120, simulations: 200, where: { segment: 'smb' } };
    expect((await runner.forecast(o120)).text).toBe((await direct(o120)).text);
    expect(runner.jobs().map((j) => [j.horizon_days, j.where, j.kind])).toEqual([
      [60, { segment: 'smb' }, 'sum'],
      [60, null, 'simulation'],
      [120, { segment: 'smb' }, 'sum'],
      [120, null, 'simulation'],
    ]);
  }, 120_000);

  it("once the company's simulation is no longer kept, a filter simulates again, with the same answer", async () => {
    const runner = new ForecastRunner((f) => f(ws));
    const horizons = Array.from({ length: KEPT_SIMULATIONS + 1 }, (_, i) => 60 + 30 * i);
    for (const h of horizons) await runner.forecast({ horizonDays: h, simulations: 200 });
    const o: ForecastOptions = { horizonDays: horizons[0]!, simulations: 200, where: { segment: 'mid-market' } };
    expect((await runner.forecast(o)).text).toBe((await direct(o)).text);
    expect(runner.jobs().at(-1)).toMatchObject({ horizon_days: horizons[0], where: { segment: 'mid-market' }, kind: 'simulation' });
    const kept: ForecastOptions = { horizonDays: horizons.at(-1)!, simulations: 200, where: { segment: 'mid-market' } };
    expect((await runner.forecast(kept)).text).toBe((await direct(kept)).text);
    expect(runner.jobs().at(-1)).toMatchObject({ horizon_days: horizons.at(-1), kind: 'sum' });
  }, 120_000);

  it('a filter on an attribute that does not exist is refused in words', async () => {
    const runner = new ForecastRunner((f) => f(ws));
    await expect(runner.forecast({ horizonDays: 90, simulations: 100, where: { colour: 'red' } })).rejects.toThrow(/'colour' is not an attribute of the accounts/);
    expect(runner.state({ horizonDays: 90, simulations: 100, where: { colour: 'red' } }, false)?.status).toBe('unavailable');
  }, 60_000);
});
