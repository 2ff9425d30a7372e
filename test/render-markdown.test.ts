import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/index.js';
import { buildReport } from '../src/report/report-model.js';
import { escapeMarkdown, renderMarkdown } from '../src/report/render-markdown.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/** Values from the data are text in the Markdown report, never HTML, table structure, code or links. */
describe('escapeMarkdown', () => {
  it('neutralises HTML, pipes, backticks, links, emphasis and line breaks', () => {
    expect(escapeMarkdown('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeMarkdown('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeMarkdown('A|B')).toBe('A\\|B');
    expect(escapeMarkdown('`rm -rf`')).toBe('\\`rm -rf\\`');
    expect(escapeMarkdown('[click](javascript:alert(1))')).toBe('\\[click\\](javascript:alert(1))');
    expect(escapeMarkdown('**big** _it_ a\\|b')).toBe('\\*\\*big\\*\\* \\_it\\_ a\\\\\\|b');
    expect(escapeMarkdown('line one\r\nline two')).toBe('line one line two');
    expect(escapeMarkdown('&lt;b&gt; &#60; &amp;')).toBe('&amp;lt;b&amp;gt; &amp;#60; &amp;amp;');
    // Ordinary names stay as they are.
    for (const plain of ['Johnson & Johnson', "O'Brien Ltd", 'deal_source', 'mid-market', 'Café Nord (EU)', '2024-Q1']) expect(escapeMarkdown(plain)).toBe(plain);
  });
});

describe('the Markdown report with hostile values', () => {
  let dir: string;
  let ws: Workspace;
  const hostile = ['<script>alert(1)</script>', 'a|b|c', '`code`', '[x](http://evil.example)'];
  beforeAll(async () => {
    dir = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,line_id,product,start_date,end_date,amount,interval,currency',
        ...hostile.map((_, i) => `A${i},L${i},core,2024-01-01,,${100 + i},monthly,USD`),
        'A9,L9,<b>pro</b>,2024-01-01,,50,monthly,USD',
        'A9,L10,core,2025-02-01,,10,monthly,USD',
      ),
      'accounts.csv': csv('account_id,name,segment', ...hostile.map((s, i) => `A${i},Name ${i},"${s}"`), 'A9,Nine,plain'),
    });
    // One account a group is enough here: the cells are checked without the small-group mark.
    ws = await Workspace.open({ data: dir, policies: { min_group_accounts: 1, as_of: '2025-02' } });
  }, 60_000);
  afterAll(() => {
    ws?.close();
    removeDir(dir);
  });

  it('keeps every table row to its columns and shows the values as text', async () => {
    const md = renderMarkdown(await buildReport(ws));
    expect(md).not.toMatch(/<script|<b>|<\/b>/);
    expect(md).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(md).toContain('&lt;b&gt;pro&lt;/b&gt;');
    expect(md).toContain('| a\\|b\\|c |');
    expect(md).toContain('| \\`code\\` |');
    expect(md).toContain('| \\[x\\](http://evil.example) |');
    // Every row of a table has as many unescaped pipes as its header.
    const tables = md.split('\n\n').filter((b) => b.startsWith('| '));
    expect(tables.length).toBeGreaterThan(3);
    for (const t of tables) {
      const counts = t.split('\n').map((line) => line.replace(/\\\\/g, '').match(/(?<!\\)\|/g)!.length);
      expect(new Set(counts).size, t.split('\n')[0]).toBe(1);
    }
  });
});
