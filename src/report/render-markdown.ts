import type { Metrics } from '../queries/metrics-queries.js';
import { benchmarkBasis, formatMoney, formatPercent, plausibilityMarks } from './format.js';
import { FORECAST_DOWNSIDE_HEAD, forecastDownsideRows, forecastSentences } from './report-forecast.js';
import { reportTitle, type Report } from './report-model.js';

/**
 * A value as Markdown text that shows as itself: no HTML (`<script>` becomes `&lt;script&gt;`, an
 * entity like `&amp;` stays literal), no table cell break (`|`), no code span, link, image or
 * emphasis (backslash before `` ` * [ ] \ `` and a word-edge `_`), no line break. Every value from
 * the data (account, segment and product names, attribute values, file names) goes through it.
 * @example escapeMarkdown('<b>A|B</b>') // '&lt;b&gt;A\\|B&lt;/b&gt;'
 */
export function escapeMarkdown(value: string): string {
  return value
    .replace(/[\r\n]+/g, ' ')
    .replace(/&(?=#?\w+;)/g, '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replace(/[\\`*[\]|]/g, '\\$&')
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_');
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.map(escapeMarkdown).join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escapeMarkdown).join(' | ')} |`),
  ].join('\n');
}

/** The report as Markdown: readable in a terminal, a pull request or a wiki. */
export function renderMarkdown(r: Report): string {
  const h = r.headline;
  const line = (label: string, m: Metrics): string[] => [
    label + plausibilityMarks(m).group,
    formatPercent(m.nrr) + plausibilityMarks(m).nrr,
    formatPercent(m.grr),
    formatPercent(m.logo_retention),
    formatMoney(m.starting_mrr),
    formatMoney(m.ending_mrr),
    String(m.starting_accounts),
  ];
  const out: string[] = [];
  out.push(`# ${reportTitle(r)}`);
  out.push('');
  for (const note of r.date_notes) out.push(`> **Warning:** ${note}`, '');
  out.push(
    `Read ${r.read.sources.map((s) => `${escapeMarkdown(s.file)} (${s.rows} rows${s.rejected ? `, ${s.rejected} rejected` : ''})`).join(', ')}: ` +
      `${r.read.accounts} accounts, ${r.read.lines} lines, ${r.read.firstDate ?? '—'} → ${r.read.lastDate ?? '—'}, currencies ${escapeMarkdown(r.read.currencies.join(', ')) || '—'}.`,
  );
  if (r.read.usageSetAside.charges > 0) out.push('', `⚠ ${usageSetAsideText(r)}`);
  out.push('');
  out.push('## Headline');
  out.push('');
  out.push(
    table(
      ['Window', 'NRR', 'GRR', 'Logo retention', 'Starting MRR', 'Ending MRR', 'Accounts'],
      [line('Trailing 12 months', h.t12m), line('Last quarter', h.quarterly), line('Last month', h.monthly)],
    ),
  );
  out.push('');
  out.push(`Monthly NRR ${formatPercent(h.monthly.nrr)} compounds to ${formatPercent(h.annualised_monthly_nrr)} a year.`);
  out.push('');
  out.push('## Bridge (trailing 12 months, starting cohort)');
  out.push('');
  const b = r.bridge;
  const bridgeRows = [
    ['Starting MRR', formatMoney(b.starting_mrr)],
    ['+ Expansion', formatMoney(b.expansion)],
    ['− Contraction', formatMoney(b.contraction)],
    ['− Churn', formatMoney(b.churn)],
  ];
  if (!b.fx.isZero()) bridgeRows.push(['± FX', formatMoney(b.fx)]);
  bridgeRows.push(['Ending MRR', formatMoney(b.ending_mrr)]);
  out.push(table(['Step', 'Amount'], bridgeRows));
  out.push('');
  out.push('## Trend');
  out.push('');
  out.push(
    table(
      ['Month', 'T12M NRR', 'T12M GRR', 'Monthly NRR', 'Monthly GRR'],
      r.series.map((s) => [s.month, formatPercent(s.t12m_nrr), formatPercent(s.t12m_grr), formatPercent(s.monthly_nrr), formatPercent(s.monthly_grr)]),
    ),
  );
  for (const g of r.groups) {
    out.push('');
    out.push(`## By ${escapeMarkdown(g.by)} (trailing 12 months)`);
    out.push('');
    out.push(
      table(
        ['Group', 'NRR', 'GRR', 'Logo retention', 'Starting MRR', 'Accounts', 'Benchmark (median / top quartile)', 'Standing'],
        g.rows.map((m) => [
          (m.group ?? '') + plausibilityMarks(m).group,
          formatPercent(m.nrr) + plausibilityMarks(m).nrr,
          formatPercent(m.grr),
          formatPercent(m.logo_retention),
          formatMoney(m.starting_mrr),
          String(m.starting_accounts),
          m.benchmark
            ? `${m.benchmark.label}${benchmarkBasis(m.benchmark)}: ${formatPercent(m.benchmark.median[0], 0)}–${formatPercent(m.benchmark.median[1], 0)} / ${formatPercent(m.benchmark.top_quartile[0], 0)}–${formatPercent(m.benchmark.top_quartile[1], 0)}`
            : '—',
          m.benchmark?.standing ?? '—',
        ]),
      ),
    );
  }
  out.push('');
  out.push(`## Cohorts (revenue retention by ${r.cohorts.granularity} of first revenue)`);
  out.push('');
  const width = Math.min(12, Math.max(0, ...r.cohorts.rows.map((c) => c.retention.length)));
  out.push(
    table(
      ['Cohort', 'Accounts', 'Starting MRR', ...Array.from({ length: width }, (_, k) => `+${k}`)],
      r.cohorts.rows.map((c) => [
        c.cohort + plausibilityMarks({ small_group: c.small_group, nrr_plausible: null }).group,
        String(c.accounts),
        formatMoney(c.starting_mrr, 0),
        ...Array.from({ length: width }, (_, k) => (k < c.retention.length ? formatPercent(c.retention[k], 0) : '')),
      ]),
    ),
  );
  out.push('');
  if (r.forecast) {
    out.push('## Forecast (next 90 days)');
    out.push('');
    out.push(forecastSentences(r.forecast).map(escapeMarkdown).join('\n\n'));
    const downside = forecastDownsideRows(r.forecast);
    if (downside.length) out.push('', 'Largest expected losses:', '', table([...FORECAST_DOWNSIDE_HEAD], downside));
    out.push('');
  }
  out.push('## Diagnostics');
  out.push('');
  out.push(r.diagnostics.length === 0 ? 'Nothing to flag.' : r.diagnostics.map((d) => `- **${d.severity}**: ${escapeMarkdown(d.message)}`).join('\n'));
  out.push('');
  out.push(plausibilityRules(r));
  out.push('');
  out.push('## Policies');
  out.push('');
  out.push(Object.entries(r.policies).map(([k, v]) => `- ${escapeMarkdown(k)}: ${escapeMarkdown(String(v))}`).join('\n'));
  out.push('');
  return out.join('\n');
}

/** The thresholds behind the marks, in one sentence (Markdown and HTML print the same). */
export function plausibilityRules(r: Report): string {
  const p = r.plausibility;
  const ranges = p.nrr_ranges.map((x) => `${x.window} month${x.window === 1 ? '' : 's'} ${formatPercent(x.low, 0)}–${formatPercent(x.high, 0)}`).join(', ');
  return (
    `Checks: ⚠ small group = fewer than ${p.min_group_accounts} starting accounts; ⚠ implausible = NRR outside ${ranges} (not ranked against benchmarks); ` +
    `a monthly drop counts from ${(p.material_drop * 100).toFixed(2)} percentage point; benchmarks are matched by median ACV at cohort start unless the config's benchmark: names the group.`
  );
}

/** The usage that is not MRR, said in the report as in the CLI's warning (docs/definitions.md#usage). */
export function usageSetAsideText(r: Report): string {
  const u = r.read.usageSetAside;
  return (
    `${u.charges} usage charge(s) of ${u.accounts} account(s), ${formatMoney(u.amount)} ${u.currency} in all, ` +
    'fall in months outside every contract line of their account and are not MRR (`nrr explain <account>` lists them).'
  );
}
