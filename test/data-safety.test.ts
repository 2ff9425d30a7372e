import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRows, spreadsheetSafe } from '../src/cli/output-format.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { Money } from '../src/money.js';
import { MANIFEST_FILE } from '../src/workspace/owned-files.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/** What a command said on stderr besides its warnings (a stale-data warning names the day, which moves with today). */
const errorText = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('warning: '))
    .join('\n');

/**
 * Fault injection for what the CLI writes and reads: a user's files are never replaced, outputs are
 * complete or the command fails (a full device, a size-limited file, a closed descriptor, a reader
 * that leaves), special files and unreadable folders are user errors. Each case runs the built CLI
 * as a user does.
 */
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const GOLDEN = join(process.cwd(), 'test/fixtures/golden');
const dirs: string[] = [];
const tempDir = (files: Record<string, string> = {}): string => {
  const d = fixtureDir(files, 'nrr-safety-');
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach(removeDir));

function nrr(args: readonly string[], options: SpawnSyncOptions = {}): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 60_000, ...options });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), status: r.status };
}

/** Every file of a folder (recursively) with its digest: what "left as it was" means. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile()) out[p.slice(dir.length + 1)] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

const USER_SUBSCRIPTIONS = csv('account_id,start_date,end_date,amount,interval', 'MINE,2024-01-01,2025-01-01,1000,year');
const noStackTrace = (stderr: string): void => expect(stderr).not.toMatch(/\n\s+at .*:\d+/);

/** Runs a shell command line (bash: ulimit) and returns its exit code and stderr. */
function shell(line: string, cwd: string): { status: number | null; stderr: string } {
  const r = spawnSync('bash', ['-c', line], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}
const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

let company: string;
beforeAll(async () => {
  // Large enough that the MRR ledger as CSV (about 200 KB) is more than a pipe holds.
  company = tempDir();
  await generateCompany({ out: company, accounts: 800, months: 24, seed: 5, end: '2025-06' });
});

describe("a user's files are never replaced", () => {
  it('nrr demo refuses a folder holding a subscriptions.csv it did not write, leaving every file byte-identical', () => {
    const dir = tempDir({ 'subscriptions.csv': USER_SUBSCRIPTIONS, 'notes.txt': 'mine\n' });
    const before = snapshot(dir);
    const r = nrr(['demo', '--data', dir, '--accounts', '20']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${dir} already holds subscriptions.csv, which nrr did not write`);
    expect(r.stderr).toContain('--force');
    noStackTrace(r.stderr);
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'subscriptions.csv']);
  });

  it('nrr demo regenerates a folder it wrote, but refuses it once the user changed one of its files; --force goes ahead', () => {
    const dir = join(tempDir(), 'demo');
    expect(nrr(['demo', '--data', dir, '--accounts', '20', '-q']).status).toBe(0);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(true);
    // Another size: the folder is the demo's own, so it is generated again.
    expect(nrr(['demo', '--data', dir, '--accounts', '25', '-q']).status).toBe(0);
    writeFileSync(join(dir, 'accounts.csv'), 'account_id,segment\nMINE,smb\n');
    const before = snapshot(dir);
    const refused = nrr(['demo', '--data', dir, '--accounts', '20', '-q']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('already holds accounts.csv');
    expect(snapshot(dir)).toEqual(before);
    const forced = nrr(['demo', '--data', dir, '--accounts', '20', '-q', '--force']);
    expect(forced.status).toBe(0);
    expect(readFileSync(join(dir, 'accounts.csv'), 'utf8')).not.toContain('MINE');
  });

  it('a demo folder from before the record of files is still the demo’s: files older than its stamp are adopted', () => {
    const dir = join(tempDir(), 'demo');
    expect(nrr(['demo', '--data', dir, '--accounts', '20', '-q']).status).toBe(0);
    // As an older version left it: no record, a stale stamp written after the files.
    removeDir(join(dir, MANIFEST_FILE));
    writeFileSync(join(dir, '.nrr-demo.json'), '{"generator":0}\n');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, '.nrr-demo.json'), later, later);
    expect(nrr(['demo', '--data', dir, '--accounts', '20', '-q']).status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, '.nrr-demo.json'), 'utf8'))).toMatchObject({ accounts: 20 });
  });

  it('nrr generate --out refuses a folder with a data file of the user’s, in any format', () => {
    const dir = tempDir({ 'usage.parquet': 'not really parquet', 'fx_rates.csv': 'mine' });
    const before = snapshot(dir);
    const r = nrr(['generate', '--out', dir, '--accounts', '5', '--months', '13']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('already holds fx_rates.csv, usage.parquet');
    expect(snapshot(dir)).toEqual(before);
  });

  it('nrr generate into its own folder replaces only its files, and drops its own files of another format', () => {
    const dir = tempDir();
    expect(nrr(['generate', '--out', dir, '--accounts', '5', '--months', '13', '--end', '2025-06']).status).toBe(0);
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    const again = nrr(['generate', '--out', dir, '--accounts', '5', '--months', '13', '--end', '2025-06', '--format', 'parquet']);
    expect(again.status, again.stderr).toBe(0);
    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.csv'))).toEqual([]);
    expect(names).toContain('subscriptions.parquet');
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(names.filter((n) => n.includes('.nrr-generate-') || n.endsWith('.tmp'))).toEqual([]);
  });

  it('npm run load-test -- --data DIR does not generate into a folder holding user files', () => {
    const dir = tempDir({ 'subscriptions.csv': USER_SUBSCRIPTIONS });
    const before = snapshot(dir);
    const r = spawnSync(process.execPath, ['scripts/load-test.mjs', '--data', dir, '--seconds', '1'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('already holds subscriptions.csv');
    noStackTrace(r.stderr);
    expect(snapshot(dir)).toEqual(before);
  });

  it('-o refuses a file nrr did not write, replaces its own, and --force replaces the user’s', () => {
    const dir = tempDir({ 'mine.md': 'my notes\n' });
    const mine = join(dir, 'mine.md');
    const refused = nrr(['report', '--data', GOLDEN, '-q', '-o', mine]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`refusing to replace -o ${mine}: nrr did not write it`);
    expect(readFileSync(mine, 'utf8')).toBe('my notes\n');
    const ours = join(dir, 'report.md');
    expect(nrr(['report', '--data', GOLDEN, '-q', '-o', ours]).status).toBe(0);
    expect(nrr(['report', '--data', GOLDEN, '-q', '-o', ours, '--format', 'json']).status).toBe(0);
    expect(readFileSync(ours, 'utf8')).toMatch(/^\{/);
    expect(nrr(['report', '--data', GOLDEN, '-q', '-o', mine, '--force']).status).toBe(0);
    expect(readFileSync(mine, 'utf8')).toMatch(/^# Net revenue retention/);
  });

  it('rejects go to the data folder by default, and a user file at the rejects path is refused', () => {
    const dir = tempDir({ 'subscriptions.csv': csv('account_id,start_date,end_date,amount,interval', 'X,2024-01-01,2025-01-01,1000,year', 'Y,2024-13-01,2025-01-01,1000,year') });
    const cwd = tempDir();
    const first = nrr(['mrr', '--data', dir, '--skip-invalid', '--as-of', '2024-12'], { cwd });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`1 rejected → ${join(dir, 'rejected.csv')}`);
    expect(readFileSync(join(dir, 'rejected.csv'), 'utf8')).toContain("start_date = '2024-13-01'");
    expect(readdirSync(cwd)).toEqual([]);
    // Its own rejects file is replaced on the next run; a user's file is not.
    expect(nrr(['mrr', '--data', dir, '--skip-invalid', '--as-of', '2024-12', '-q']).status).toBe(0);
    writeFileSync(join(dir, 'rejected.csv'), 'my own list\n');
    const refused = nrr(['mrr', '--data', dir, '--skip-invalid', '--as-of', '2024-12', '-q']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('refusing to replace --rejects');
    expect(readFileSync(join(dir, 'rejected.csv'), 'utf8')).toBe('my own list\n');
  });
});

describe('outputs are complete or the command fails', () => {
  const toDevice = (args: string[], device: string, flags: string) => {
    const fd = openSync(device, flags);
    try {
      return nrr(args, { stdio: ['ignore', fd, 'pipe'] });
    } finally {
      closeSync(fd);
    }
  };

  it.runIf(existsSync('/dev/full'))('a full device on standard output: exit 1 and one line, for every kind of output', () => {
    for (const args of [
      ['mrr', '--data', company, '--format', 'csv', '-q'],
      ['movements', '--data', company, '--format', 'json', '-q'],
      ['report', '--data', GOLDEN, '-q'],
      ['accounts', '--data', GOLDEN, '--format', 'csv', '-q'],
      ['init', join(tempDir(), 'ws')],
    ]) {
      const r = toDevice(args, '/dev/full', 'w');
      expect(r.status, args.join(' ')).toBe(1);
      expect(errorText(r.stderr)).toBe('error: cannot write to standard output: no space left on device (ENOSPC); the output is incomplete');
    }
  });

  it('standard output open only for reading (EBADF): exit 1 and a message', () => {
    const r = toDevice(['mrr', '--data', GOLDEN, '--format', 'csv', '-q'], '/dev/null', 'r');
    expect(r.status).toBe(1);
    expect(errorText(r.stderr)).toBe('error: cannot write to standard output: not open for writing (EBADF); the output is incomplete');
  });

  it('a file size limit (ulimit -f) on a redirected output: exit 1, never 0 over half the bytes', () => {
    const dir = tempDir();
    const r = shell(`ulimit -f 16; exec ${q(process.execPath)} ${q(BIN)} mrr --data ${q(company)} --format csv -q > out.csv`, dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot write to standard output: file too large (EFBIG)');
    expect(statSync(join(dir, 'out.csv')).size).toBe(16 * 1024);
  });

  it('-o under a file size limit fails and leaves the previous file whole, with no temporary file behind', () => {
    const dir = tempDir();
    expect(nrr(['report', '--data', GOLDEN, '-q', '-o', 'r.md'], { cwd: dir }).status).toBe(0);
    const before = snapshot(dir);
    const r = shell(`ulimit -f 1; exec ${q(process.execPath)} ${q(BIN)} report --data ${q(GOLDEN)} -q -o r.md --format html`, dir);
    expect(r.status).toBe(1);
    expect(errorText(r.stderr)).toBe('error: cannot write -o r.md: file too large (EFBIG); nothing was written');
    expect(snapshot(dir)).toEqual(before);
  });

  it('a reader that leaves early (| head): no message, exit 141, not 0', () => {
    const dir = tempDir();
    const r = shell(`${q(process.execPath)} ${q(BIN)} mrr --data ${q(company)} --format csv -q 2> err.txt | head -1 > first.txt; exit \${PIPESTATUS[0]}`, dir);
    expect(r.status).toBe(141);
    expect(readFileSync(join(dir, 'first.txt'), 'utf8')).toBe('account_id,month,mrr\n');
    expect(errorText(readFileSync(join(dir, 'err.txt'), 'utf8'))).toBe('');
  });

  it('a whole large CSV reaches a reader that is slow to start, and the exit waits for it', () => {
    const dir = tempDir();
    const whole = nrr(['mrr', '--data', company, '--format', 'csv', '-q']).stdout;
    expect(whole.length).toBeGreaterThan(150_000);
    // The pipe (64 KB) fills while the reader sleeps: the writer must wait, not drop or stop.
    const r = shell(`${q(process.execPath)} ${q(BIN)} mrr --data ${q(company)} --format csv -q | (sleep 1; cat > out.csv); exit \${PIPESTATUS[0]}`, dir);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe(whole);
  });
});

describe('user mistakes are user errors (exit 1 or 2, never 70)', () => {
  it('a named pipe as subscriptions.csv or as the config is refused at once, not waited on', () => {
    const dir = tempDir();
    cpSync(GOLDEN, dir, { recursive: true });
    removeDir(join(dir, 'subscriptions.csv'));
    expect(spawnSync('mkfifo', [join(dir, 'subscriptions.csv')]).status).toBe(0);
    const r = nrr(['validate', '--data', dir], { timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('subscriptions.csv: is a named pipe (FIFO), not a regular file');
    const cfg = join(dir, 'pipe.yaml');
    expect(spawnSync('mkfifo', [cfg]).status).toBe(0);
    const c = nrr(['metrics', '--data', GOLDEN, '--config', cfg], { timeout: 20_000 });
    expect(c.status).toBe(1);
    expect(c.stderr).toContain('is a named pipe (FIFO)');
  });

  it('a folder where a file is expected, a file where a folder is expected, a day that is not in the calendar', () => {
    const dir = tempDir();
    cpSync(GOLDEN, dir, { recursive: true });
    const cases: [string[], string][] = [
      [['metrics', '--data', GOLDEN, '--config', dir], `${dir}: is a folder, not a regular file`],
      [['report', '--data', GOLDEN, '-q', '-o', dir], `cannot write -o ${dir}: it is a folder`],
      [['report', '--data', GOLDEN, '-q', '-o', join(dir, 'missing', 'r.md')], `the folder ${join(dir, 'missing')} does not exist`],
      [['generate', '--out', join(dir, 'subscriptions.csv'), '--accounts', '5'], `${join(dir, 'subscriptions.csv')} is not a folder`],
      [['init', join(dir, 'subscriptions.csv', 'x')], 'a part of the path is not a folder (ENOTDIR)'],
      [['validate', '--data', join(dir, 'subscriptions.csv')], 'data folder not found'],
      // Date.parse takes 30 February for 1 March; the database does not.
      [['accounts', '--data', GOLDEN, '--as-of', '2024-02-30'], "expected a day of the calendar as YYYY-MM-DD, got '2024-02-30'"],
    ];
    for (const [args, message] of cases) {
      const r = nrr(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(message);
      noStackTrace(r.stderr);
    }
    removeDir(join(dir, 'usage.csv'));
    mkdirSync(join(dir, 'usage.csv'));
    const d = nrr(['validate', '--data', dir]);
    expect(d.status).toBe(1);
    expect(d.stderr).toContain('usage.csv: is a folder, not a regular file');
  });

  it('an unreadable data folder and an unreadable file (as a user without the permission)', () => {
    const root = tempDir();
    chmodSync(root, 0o755);
    const folder = join(root, 'locked');
    cpSync(GOLDEN, folder, { recursive: true });
    const file = join(root, 'open');
    cpSync(GOLDEN, file, { recursive: true });
    chmodSync(folder, 0o000);
    chmodSync(join(file, 'subscriptions.csv'), 0o000);
    // Root reads everything: run as nobody to see what a user sees.
    const asUser: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    try {
      const a = nrr(['validate', '--data', folder], asUser);
      expect(a.status).toBe(1);
      expect(a.stderr).toContain(`data folder ${folder}: cannot be read: permission denied`);
      const b = nrr(['validate', '--data', file], asUser);
      expect(b.status).toBe(1);
      expect(b.stderr).toContain('subscriptions.csv: cannot be read: permission denied');
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it('a playbook rule nested thousands of levels deep is a config error naming the limit', () => {
    const when = `${'('.repeat(3000)}mrr > 1${')'.repeat(3000)}`;
    const cfg = join(tempDir(), 'deep.yaml');
    writeFileSync(cfg, `version: 1\nplaybooks:\n  - name: deep\n    when: "${when}"\n    task: { type: save, owner: csm, priority: high, due_days: 3 }\n`);
    const r = nrr(['playbooks', 'dry-run', '--data', GOLDEN, '--config', cfg]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("playbook 'deep', when: the rule nests more than 100 levels deep");
  });
});

describe('CSV for spreadsheets', () => {
  it('neutralises text that a spreadsheet would run as a formula, and leaves numbers and money exact', () => {
    const rows = [
      { name: '=HYPERLINK("http://evil.example","click")', n: -12.5, amount: new Money('-12.50'), code: '-12.5' },
      { name: '+1+1', n: 3, amount: new Money('1234567.1234567891234'), code: '@SUM(A1)' },
      { name: '-2+3', n: 0, amount: new Money('0'), code: '\tcmd' },
      { name: '\r=1', n: 1e21, amount: new Money('-0.01'), code: 'Acme, Inc' },
    ];
    const text = formatRows(rows, ['name', 'n', 'amount', 'code'], 'csv');
    const cells = parse(text) as string[][];
    expect(cells).toEqual([
      ['name', 'n', 'amount', 'code'],
      ["'=HYPERLINK(\"http://evil.example\",\"click\")", '-12.5', '-12.5', '-12.5'],
      ["'+1+1", '3', '1234567.1234567891234', "'@SUM(A1)"],
      ["'-2+3", '0', '0', "'\tcmd"],
      ["'\r=1", '1e+21', '-0.01', 'Acme, Inc'],
    ]);
    expect(spreadsheetSafe('-1e3')).toBe('-1e3');
    expect(spreadsheetSafe('=1')).toBe("'=1");
    expect(spreadsheetSafe('2024-01')).toBe('2024-01');
  });

  it('nrr accounts --format csv neutralises a hostile account name; JSON keeps it exactly', () => {
    const dir = tempDir();
    cpSync(GOLDEN, dir, { recursive: true });
    const accounts = readFileSync(join(dir, 'accounts.csv'), 'utf8').replace('A1,Alpha,', 'A1,"=HYPERLINK(""http://evil.example"",""x"")",');
    writeFileSync(join(dir, 'accounts.csv'), accounts);
    const r = nrr(['accounts', '--data', dir, '--as-of', '2024-06-30', '--format', 'csv', '-q']);
    expect(r.status, r.stderr).toBe(0);
    const rows = parse(r.stdout, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    expect(rows.find((x) => x['account_id'] === 'A1')?.['name']).toBe('\'=HYPERLINK("http://evil.example","x")');
    const json = JSON.parse(nrr(['accounts', '--data', dir, '--as-of', '2024-06-30', '--format', 'json', '-q']).stdout) as { account_id: string; name?: string; record?: { attributes: Record<string, string> } }[];
    expect(JSON.stringify(json)).toContain('=HYPERLINK(\\"http://evil.example\\",\\"x\\")');
  });
});
