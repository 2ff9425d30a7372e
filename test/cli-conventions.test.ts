import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/nrr.js';

// The built CLI as a user runs it, on a day pinned so that the demo's months are fixed.
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const TODAY = '2026-11-15';
const ENV = { ...process.env, CI: 'true', NRR_TODAY: TODAY };
const nrrSync = (args: readonly string[], cwd = process.cwd()) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV, cwd });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
};
const nrrAsync = (args: readonly string[], cwd: string): Promise<{ stdout: string; stderr: string; status: number }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: ENV, cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ stdout, stderr, status: code ?? -1 }));
  });

/** Every command with an action, by its full name ("playbooks dry-run"). */
function leaves(cmd: Command, prefix: string[] = []): { name: string; path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    const own = (c as unknown as { _actionHandler: unknown })._actionHandler ? [{ name: path.join(' '), path, cmd: c }] : [];
    return [...own, ...leaves(c, path)];
  });
}
const opt = (c: Command, long: string): Option | undefined => c.options.find((o) => o.long === long);

/** The help text of a command, with its examples (addHelpText), as --help prints it. */
function helpOf(c: Command): string {
  let text = '';
  c.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  c.outputHelp();
  return text;
}

describe('one set of conventions for every command', () => {
  const program = buildProgram();
  const all = leaves(program);

  it('the same short flags wherever the long one is offered: -d, -f, -o, -q', () => {
    const wrong: string[] = [];
    for (const { name, cmd } of all) {
      for (const [long, short] of [['--data', '-d'], ['--format', '-f'], ['--out', '-o'], ['--quiet', '-q']] as const) {
        const o = opt(cmd, long);
        if (o && o.short !== short) wrong.push(`${name}: ${long} without ${short}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every command that reads a data folder takes -q and -f; every one that computes takes --as-of', () => {
    const wrong: string[] = [];
    for (const { name, cmd } of all) {
      if (!opt(cmd, '--data') && name !== 'tasks done') continue;
      if (name === 'tasks done') continue; // takes --data and -q from `tasks`
      if (!opt(cmd, '--quiet')) wrong.push(`${name}: no -q`);
      // serve prints no result of its own: it serves one.
      if (!opt(cmd, '--format') && name !== 'serve') wrong.push(`${name}: no -f`);
      if (opt(cmd, '--skip-invalid') && !opt(cmd, '--as-of')) wrong.push(`${name}: reads data but has no --as-of`);
    }
    expect(wrong).toEqual([]);
  });

  it('rows default to a table (one rule, metrics included), and every row command takes -o', () => {
    const rowCommands = all.filter(({ cmd }) => opt(cmd, '--format')?.argChoices?.includes('csv') && !opt(cmd, '--format')?.argChoices?.includes('parquet'));
    expect(rowCommands.map((r) => r.name)).toEqual(expect.arrayContaining(['mrr', 'movements', 'metrics', 'cohorts', 'accounts', 'playbooks dry-run', 'tasks']));
    for (const { name, cmd } of rowCommands) {
      expect(`${name}: ${String(opt(cmd, '--format')!.defaultValue)}`).toBe(`${name}: table`);
      expect(opt(cmd, '--out'), `${name} -o`).toBeDefined();
    }
  });

  it('every command has examples in its --help; init and validate come first in nrr --help', () => {
    const missing = all.filter(({ cmd }) => !/\nExamples:\n {2}nrr /.test(helpOf(cmd))).map((c) => c.name);
    expect(missing).toEqual([]);
    expect(program.commands.slice(0, 2).map((c) => c.name())).toEqual(['init', 'validate']);
  });

  it('validate --help lists no flag that only changes how MRR is computed', () => {
    const validate = all.find((c) => c.name === 'validate')!.cmd;
    for (const f of ['--snapshot', '--usage', '--fx', '--reactivation-window']) expect(opt(validate, f), f).toBeUndefined();
    for (const f of ['--snapshot', '--usage', '--fx']) expect(opt(all.find((c) => c.name === 'metrics')!.cmd, f), f).toBeDefined();
  });
});

/** A shell-like split: quotes group words, `> file` and `# comment` end the command. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    if (m[3] === '>' || m[3]?.startsWith('#')) break;
    out.push(m[1] ?? m[2] ?? m[3]!);
  }
  return out;
}

/** Example command lines: `nrr …` lines of the Examples (and "Start here") of every help, and of the README's code blocks. */
function examples(): { from: string; args: string[] }[] {
  const found: { from: string; args: string[] }[] = [];
  const program = buildProgram();
  for (const { name, cmd } of [{ name: 'nrr', cmd: program }, ...leaves(program)]) {
    for (const line of helpOf(cmd).split('\n')) {
      const m = /^ {2}(nrr .*)$/.exec(line);
      if (m) found.push({ from: `${name} --help`, args: words(m[1]!.split(/\s{2,}/)[0]!).slice(1) });
    }
  }
  const readme = readFileSync('README.md', 'utf8');
  for (const block of readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const m = /^(?:\w+=\S+ )?(?:npx )?(nrr .*)$/.exec(line.trim());
      if (m) found.push({ from: 'README', args: words(m[1]!).slice(1) });
    }
  }
  // An example in two helps (tasks and tasks done) runs once.
  return found.filter((e, i) => found.findIndex((f) => f.args.join('\u0000') === e.args.join('\u0000')) === i);
}

describe('every example runs against the demo', () => {
  let root = '';
  let demo = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nrr-examples-'));
    demo = join(root, 'demo');
    const g = nrrSync(['generate', '--out', demo, '--accounts', '200']);
    expect(g.status, g.stderr).toBe(0);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('dry-run --format json says what run then does: its enter rows are the tasks run opens, and none is left after', () => {
    const dry = (): { playbook: string; account_id: string; action: string }[] => JSON.parse(nrrSync(['playbooks', 'dry-run', '--data', demo, '-q', '--format', 'json']).stdout) as never;
    const before = dry();
    expect(before.length).toBeGreaterThan(0);
    for (const r of before) expect(['enter', 'already_open', 'held_by_budget', 'held_by_cooldown', 'held_by_yearly_limit', 'exit']).toContain(r.action);
    const run = nrrSync(['playbooks', 'run', '--data', demo, '--no-deliver']);
    expect(run.status, run.stderr).toBe(0);
    const opened = [...run.stderr.matchAll(/^opened task \d+: (\S+), (\S+), for .+$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(opened.length).toBeGreaterThan(0);
    expect(before.filter((r) => r.action === 'enter').map((r) => `${r.playbook} ${r.account_id}`).sort()).toEqual(opened);
    const after = dry();
    expect(after.filter((r) => r.action === 'enter')).toEqual([]);
    expect(after.filter((r) => r.action === 'already_open').map((r) => `${r.playbook} ${r.account_id}`)).toEqual(expect.arrayContaining(opened));
  }, 120_000);

  it('every example of --help and README exits 0; accounts and owners it names are in the demo', async () => {
    const list = examples();
    expect(list.length).toBeGreaterThan(40);
    const accounts = rows(readFileSync(join(demo, 'accounts.csv'), 'utf8'));
    const ids = new Set(accounts.map((a) => a['account_id']));
    const owners = new Set(accounts.flatMap((a) => [a['csm_owner'], a['am_owner']]));
    // Tasks exist for `tasks done` and `tasks --owner` (the dry-run test above ran the plays; run again is a no-op).
    expect(nrrSync(['playbooks', 'run', '--data', demo, '-q', '--no-deliver']).status).toBe(0);
    const runs: { from: string; args: string[] }[] = [];
    let n = 0;
    for (const { from, args } of list) {
      const [command] = args;
      // serve and demo --serve listen until stopped; demo generates 3,000 accounts (npm start runs it).
      // stripe reads Stripe exports, not the demo: test/stripe-import.test.ts runs its examples.
      if (command === 'serve' || command === 'demo' || command === 'stripe' || args.length === 0) continue;
      const a = [...args];
      const value = (flags: string[], to: (v: string) => string): void => {
        for (let i = 0; i < a.length - 1; i++) if (flags.includes(a[i]!)) a[i + 1] = to(a[i + 1]!);
      };
      const own = join(root, `run-${n++}`);
      if (command === 'generate') value(['--out', '-o'], () => own);
      else {
        value(['--data', '-d'], () => demo);
        value(['--out', '-o'], (v) => join(root, `${n}-${v}`));
      }
      value(['--accounts'], (v) => String(Math.min(Number(v), 200)));
      if (command === 'init') a[1] = own;
      value(['--owner'], (v) => {
        expect(owners, `${from}: owner ${v}`).toContain(v);
        return v;
      });
      for (const w of a) if (/^A\d{7}$/.test(w)) expect(ids, `${from}: account ${w}`).toContain(w);
      // `tasks done` last, on the tasks run opened.
      if (command === 'tasks' && a[1] === 'done') runs.push({ from, args: a });
      else runs.unshift({ from, args: a });
    }
    const failed: string[] = [];
    // Two at a time, in order (tasks done at the end).
    for (let i = 0; i < runs.length; i += 2) {
      const batch = runs.slice(i, i + 2);
      const done = await Promise.all(batch.map((r) => nrrAsync(r.args, root)));
      done.forEach((r, k) => {
        if (r.status !== 0) failed.push(`${batch[k]!.from}: nrr ${batch[k]!.args.join(' ')} → ${r.status}: ${r.stderr.split('\n').find((l) => l.startsWith('error')) ?? r.stderr.slice(-200)}`);
      });
    }
    expect(failed).toEqual([]);
  }, 600_000);
});

const rows = (text: string): Record<string, string>[] => parse(text, { columns: true }) as Record<string, string>[];
