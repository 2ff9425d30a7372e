import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** The dashboard's summary (web/src/session.ts) against a stubbed fetch: what a first visit asks the server. */
describe('the dashboard reads the summary once', () => {
  let asked: string[];
  let answers: (() => Response)[];
  beforeEach(() => {
    vi.resetModules();
    asked = [];
    answers = [];
    vi.stubGlobal('sessionStorage', { getItem: () => null, setItem: () => undefined });
    vi.stubGlobal('fetch', async (path: string) => {
      asked.push(path);
      return answers.shift()!();
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('callers that come while it is being read share one request and get the same summary', async () => {
    answers.push(() => new Response(JSON.stringify({ as_of_month: '2026-11', reporting_currency: 'USD' })));
    const session = await import('../web/src/session.js');
    expect(() => session.currentSummary()).toThrow(/not loaded/);
    const [a, b] = await Promise.all([session.loadSummary(), session.loadSummary()]);
    expect(asked).toEqual(['/api/summary']);
    expect(a).toBe(b);
    expect(session.currentSummary().as_of_month).toBe('2026-11');
    await session.loadSummary();
    expect(asked).toHaveLength(1);
  });

  it('a failed read is not kept: the next caller asks again', async () => {
    answers.push(() => new Response(JSON.stringify({ error: 'busy' }), { status: 503 }));
    answers.push(() => new Response(JSON.stringify({ as_of_month: '2026-10', reporting_currency: 'EUR' })));
    const session = await import('../web/src/session.js');
    await expect(session.loadSummary()).rejects.toThrow(/busy/);
    expect((await session.loadSummary()).reporting_currency).toBe('EUR');
    expect(asked).toEqual(['/api/summary', '/api/summary']);
  });
});
