import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthIndex } from '../src/engine/months.js';
import { forecastFrom } from '../src/forecast/forecast.js';
import type { Predictor } from '../src/forecast/forecast-model.js';
import type { ForecastRow } from '../src/forecast/hazard-features.js';
import { Money } from '../src/money.js';
import { buildReport, type Report } from '../src/report/report-model.js';
import { forecastDownsideRows, forecastSentences, type ReportForecast } from '../src/report/report-forecast.js';
import { renderHtml } from '../src/report/render-html.js';
import { renderMarkdown } from '../src/report/render-markdown.js';
import { Workspace } from '../src/workspace/workspace.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

const M = monthIndex('2024-12');
const row = (id: string, mrr: string): ForecastRow => ({ month: M, account_id: id, mrr_text: mrr, mrr: Number(mrr), group: 'smb', raw: {}, sources: new Set(), next: null, next_fraction: null });

/** A thin-history predictor: monthly churn 10 % for every account, the fallback's name and note. */
const thin: Predictor = {
  method: 'segment_renewal_rates',
  probabilities: () => [0.1, 0, 0],
  reasons: (r) => [`${r.group}, no term: the rate of such accounts`],
  expansionReasons: () => [],
  shock: [0.25, 0.25, 0.25],
  spread_scale: 1,
  sizes: [{ group: 'all', contraction: [0.5], expansion: [0.5] }],
  sizeGroup: () => 0,
  training: { months: 4, rows: 40, churn: 3, contraction: 0, expansion: 0 },
  calibration: { method: 'none', months: 0, rows: 0 },
  notes: ['thin history (4 months, 3 churn events; the model needs 6 months and 30 churn events): probabilities are segment × time-to-renewal rates, and the intervals are wider'],
};

function thinForecast(): ReportForecast {
  const f = forecastFrom({
    month: M,
    horizonDays: 90,
    current: [row('<b>A|1</b>', '100'), row('B', '300')],
    predictor: thin,
    committed: new Map(),
    seed: 1,
    simulations: 200,
    committedLines: 'all',
    t12mStart: new Map([['B', Money.from('250')]]),
  });
  return { forecast: f, reason: null };
}

describe('the forecast section of the report', () => {
  let dir = '';
  let ws: Workspace;
  let report: Report;
  beforeAll(async () => {
    dir = fixtureDir({
      'subscriptions.csv': [
        ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval'],
        ['A1', 'A1-a', 'core', '2023-01-01', null, 100, 'month'],
        ['B1', 'B1-a', 'core', '2023-06-01', null, 200, 'month'],
      ],
    }, 'nrr-report-fc-');
    ws = await Workspace.open({ data: dir, policies: { as_of: '2024-12' }, today: new Date('2025-06-15T00:00:00Z') });
    report = await buildReport(ws, { forecast: true });
  });
  afterAll(() => {
    ws?.close();
    removeDir(dir);
  });

  it('on two accounts: the fallback, named, with the counts behind it; not asked for, no section', async () => {
    const f = report.forecast!.forecast!;
    expect(f.method).toBe('segment_renewal_rates');
    expect(f.account_count).toBe(2);
    const md = renderMarkdown(report);
    expect(md).toContain('## Forecast (next 90 days)');
    expect(md).toContain("Forward NRR of today's 2 customers from 2024-12-31 to 2025-03-31");
    expect(md).toMatch(/segment × time-to-renewal rates, not the hazard model: the history is too thin \(\d+ month-ends, 0 churns\)/);
    expect(md).toContain('Note: only 2 accounts with MRR at T: the figures are too noisy to trust.');
    expect(renderHtml(report)).toContain('<h2>Forecast (next 90 days)</h2>');
    expect((await buildReport(ws)).forecast).toBeUndefined();
    expect(renderMarkdown(await buildReport(ws))).not.toContain('## Forecast');
  });

  it('names the fallback when the history is thin, with its counts, and escapes account ids in both renderers', () => {
    const f = thinForecast();
    const text = forecastSentences(f).join('\n');
    expect(text).toContain('segment × time-to-renewal rates, not the hazard model: the history is too thin (4 month-ends, 3 churns), so the interval is wider');
    expect(text).toContain("Forward NRR of today's 2 customers from 2024-12-31 to 2025-03-31");
    // T12M cohort: B alone (250 at 2024-03); A is newer.
    expect(text).toContain('1 customers of 2024-03-31, 1 still customers at 2024-12-31');
    expect(text).toContain('Note: thin history');
    // Downside: B first (300 × (1 − 0.9³) = 81.30 expected loss), then A (27.10).
    expect(forecastDownsideRows(f).map((r) => [r[0], r[3]])).toEqual([['B', '81.30'], ['<b>A|1</b>', '27.10']]);
    const md = renderMarkdown({ ...report, forecast: f });
    expect(md).toContain('| &lt;b&gt;A\\|1&lt;/b&gt; |');
    const html = renderHtml({ ...report, forecast: f });
    expect(html).toContain('<td>&lt;b&gt;A|1&lt;/b&gt;</td>');
    expect(html).not.toContain('<b>A|1</b>');
  });
});
