import type { Command } from 'commander';

/** `nrr init DIR`: a new workspace for a user's own exports. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('start a workspace for your own data: a documented nrr.config.yaml and every contract file with its header')
    .argument('<dir>', 'folder to create (or an empty one)')
    .option('--currency <code>', 'reporting currency to write into the config (default USD)')
    .option('--no-signals', 'leave out the signal files (product usage, seats, meetings, …)')
    .option('--force', 'rewrite the files init writes when they exist (nothing else is touched)')
    .addHelpText(
      'after',
      `
Examples:
  nrr init my-data
  nrr init my-data --currency EUR --no-signals

Then put your exports into the files (columns: docs/data-contract.md) and run
  nrr validate --data my-data
  nrr report --data my-data`,
    )
    .action(async (dir: string, o: { currency?: string; signals: boolean; force?: boolean }) => {
      const { initWorkspace } = await import('../workspace/init-workspace.js');
      const written = initWorkspace(dir, { currency: o.currency, signals: o.signals, force: o.force });
      const out = process.stdout;
      out.write(`created ${dir} with ${written.length} files:\n`);
      for (const f of written) out.write(`  ${f}\n`);
      out.write(
        `
next:
  1. fill subscriptions.csv with your contract lines (required); accounts.csv with one row per account —
     its columns after account_id are free-form attributes that reports can group by (--by segment);
     usage.csv and fx_rates.csv if you bill usage or in several currencies. Columns: docs/data-contract.md.
  2. check the files:      nrr validate --data ${dir}
  3. read the report:      nrr report --data ${dir}
  4. change definitions in ${dir}/nrr.config.yaml (each policy is explained there).
`,
      );
    });
}
