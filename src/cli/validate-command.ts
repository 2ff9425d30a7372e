import { Option, type Command } from 'commander';
import { stringifyJson } from '../money.js';
import { noLinesYet, open, withDataOptions, type CommonOptions } from './common-options.js';
import { plural } from './plural-text.js';
import { formatRows } from './output-format.js';

/** `nrr validate`: checks every file of the data contract, revenue and signal files alike. */
export function registerValidate(program: Command): void {
  withDataOptions(
    program
      .command('validate')
      .description('check every file of the data contract (revenue and signal files) and say what is wrong, row by row'),
    { policies: false },
  )
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Exit status 0 when every file passes, 2 when a file breaks a rule (the problems are listed with
file, row, column, value and what was expected), 1 when a file cannot be read at all.
With --skip-invalid, bad rows go to the rejects file and the rest is reported as read.

Examples:
  nrr validate --data demo
  nrr validate --data my-data --format json`,
    )
    .action(async (o: CommonOptions & { format: 'table' | 'json' }) => {
      const ws = await open({ ...o, quiet: true }, { signals: true }, true);
      try {
        const s = ws.summary;
        const warnings = new Map<string, number>();
        for (const w of s.warnings) warnings.set(w.file, (warnings.get(w.file) ?? 0) + 1);
        const files = s.sources.map((x) => ({ file: x.file, rows: x.rows, rejected: x.rejected, warnings: warnings.get(x.file) ?? 0 }));
        if (o.format === 'json') {
          process.stdout.write(stringifyJson({ ok: true, files, warnings: s.warnings, warning_count: s.warningCount, latest_date: s.latestDate, stale: s.stale }) + '\n');
          return;
        }
        process.stdout.write(formatRows(files, ['file', 'rows', 'rejected', 'warnings'], 'table') + '\n');
        for (const w of s.warnings) {
          process.stdout.write(`warning: ${w.row > 0 ? `${w.file} row ${w.row}, column ${w.column}: '${w.value ?? ''}': expected ${w.expected}` : `${w.file}: ${w.column}: expected ${w.expected}`}\n`);
        }
        if (s.warningCount > s.warnings.filter((w) => w.row > 0).length) {
          process.stdout.write(`warning: … ${s.warningCount - s.warnings.filter((w) => w.row > 0).length} more warnings\n`);
        }
        const rejected = files.reduce((n, f) => n + f.rejected, 0);
        process.stdout.write(
          rejected > 0
            ? `${rejected} rows set aside in ${s.rejectsFile}; the other rows of ${files.length} files pass the data contract\n`
            : `all ${plural(files.length, 'file')} pass the data contract (${plural(ws.signalSources.length, 'signal file')})\n`,
        );
        if (s.lines === 0) process.stdout.write(`${noLinesYet(o.data)}\n`);
      } finally {
        ws.close();
      }
    });
}
