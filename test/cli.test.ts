import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The CLI as a user runs it: the built binary (npm test builds before Vitest runs).
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const GOLDEN = 'test/fixtures/golden';

function nrr(...args: string[]): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

describe('nrr CLI', () => {
  it('metrics prints the documented JSON keys as fractions', () => {
    const r = nrr('metrics', '--data', GOLDEN, '--as-of', '2024-12', '--month', '2024-12', '--window', '11', '--format', 'json');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of ['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'nrr', 'grr', 'logo_retention', 'starting_accounts', 'retained_accounts']) {
      expect(m).toHaveProperty(k);
    }
    expect(m['starting_mrr']).toBe(5100);
    expect(m['ending_mrr']).toBe(4400);
    expect(m['nrr']).toBeCloseTo(4400 / 5100, 12);
    expect(m['grr']).toBeCloseTo(4200 / 5100, 12);
    expect(r.stderr).toContain('read subscriptions.csv 18 rows');
    expect(r.stderr).toContain('12 accounts');
  });

  it('metrics --by gives one object per group carrying its value', () => {
    const r = nrr('metrics', '--data', GOLDEN, '--as-of', '2024-12', '--window', '11', '--by', 'segment', '--format', 'json');
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.map((x) => x['segment'])).toEqual(['enterprise', 'mid-market', 'smb']);
    expect(rows.find((x) => x['segment'] === 'smb')?.['churn']).toBe(700);
  });

  it('metrics --format json objects carry small_group, one threshold (min_group_accounts) at its edge', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrr-cli-small-'));
    cpSync(GOLDEN, dir, { recursive: true });
    // Starting accounts at 2024-01: enterprise 1, mid-market 2, smb 5.
    writeFileSync(join(dir, 'nrr.config.yaml'), 'policies:\n  min_group_accounts: 2\n');
    const r = nrr('metrics', '--data', dir, '--as-of', '2024-12', '--window', '11', '--by', 'segment', '--format', 'json');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.map((x) => [x['segment'], x['starting_accounts'], x['small_group']])).toEqual([
      ['enterprise', 1, true],
      ['mid-market', 2, false],
      ['smb', 5, false],
    ]);
    const one = JSON.parse(nrr('metrics', '--data', dir, '--as-of', '2024-12', '--window', '11', '--format', 'json').stdout) as Record<string, unknown>;
    expect(one['small_group']).toBe(false);
    const csv = nrr('metrics', '--data', dir, '--as-of', '2024-12', '--window', '11', '--by', 'segment', '--format', 'csv').stdout.split('\n');
    const head = csv[0]!.split(',');
    expect(csv[1]!.split(',')[head.indexOf('small_group')]).toBe('true');
    expect(csv[2]!.split(',')[head.indexOf('small_group')]).toBe('false');
    // The movements method warns on the tiny enterprise cohort.
    const mv = nrr('metrics', '--data', dir, '--as-of', '2024-12', '--window', '11', '--by', 'segment', '--method', 'movements', '--format', 'json');
    expect(mv.stderr).toContain("warning: 2024-12 'enterprise': NRR by the movements method on a tiny cohort (fewer than 2 accounts)");
    expect(mv.stderr).not.toContain("'smb': NRR by the movements method");
    rmSync(dir, { recursive: true, force: true });
  });

  it('movements as CSV has the documented columns, one row per account-month', () => {
    const r = nrr('movements', '--data', GOLDEN, '--as-of', '2024-12', '--format', 'csv');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('account_id,month,category,cause,mrr_before,mrr_after,delta,usage_delta,fx');
    expect(lines).toContain('A6,2024-03,churn,contract,500,0,-500,0,0');
    expect(lines).toContain('A6,2024-04,reactivation,contract,0,500,500,0,0');
    expect(lines).toContain('A4,2024-05,expansion,contract,400,600,200,0,0');
    expect(lines).toContain('A10,2024-03,expansion,usage,100,150,50,50,0');
    const keys = lines.slice(1).map((l) => l.split(',').slice(0, 2).join('|'));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('mrr keeps every digit in CSV: an annual 1000 is 83.333333333333 a month', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrr-cli-'));
    writeFileSync(join(dir, 'subscriptions.csv'), 'account_id,start_date,end_date,amount,interval\nX,2024-01-01,2025-01-01,1000,year\n');
    const r = nrr('mrr', '--data', dir, '--format', 'csv', '--as-of', '2024-12');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('account_id,month,mrr');
    expect(lines).toHaveLength(13);
    expect(lines[1]).toBe('X,2024-01,83.333333333333');
    expect(r.stderr).toContain('warning');
  });

  it('report renders Markdown, JSON and HTML', () => {
    const md = nrr('report', '--data', GOLDEN, '--as-of', '2024-12');
    expect(md.status).toBe(0);
    expect(md.stdout).toContain('# Net revenue retention — as of 2024-12');
    expect(md.stdout).toContain('## Bridge');
    expect(md.stdout).toContain('## Policies');
    const json = JSON.parse(nrr('report', '--data', GOLDEN, '--as-of', '2024-12', '--format', 'json').stdout) as {
      headline: { monthly: { nrr: number } };
      cohorts: { rows: unknown[] };
    };
    expect(json.cohorts.rows.length).toBeGreaterThan(0);
    expect(json.headline.monthly.nrr).toBe(1);
    const html = nrr('report', '--data', GOLDEN, '--as-of', '2024-12', '--format', 'html').stdout;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
  });

  it('explain lists the lines behind each movement', () => {
    const r = nrr('explain', 'A7', '--data', GOLDEN, '--as-of', '2024-12', '--format', 'json');
    const x = JSON.parse(r.stdout) as { movements: { month: string; category: string; lines: { id: string; effect: string }[] }[] };
    const contraction = x.movements.find((m) => m.category === 'contraction');
    expect(contraction?.month).toBe('2024-07');
    expect(contraction?.lines).toEqual([expect.objectContaining({ id: 'A7-addon', effect: 'ended' })]);
    const unknown = nrr('explain', 'A77', '--data', GOLDEN);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("account 'A77' has no lines");
  });

  it('refuses invalid input with exit 2 and a message naming file, row, column and value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrr-cli-'));
    cpSync(GOLDEN, dir, { recursive: true });
    const subs = readFileSync(join(dir, 'subscriptions.csv'), 'utf8');
    writeFileSync(join(dir, 'subscriptions.csv'), subs + 'A1,bad-1,core,2024-01-01,,12O0,month,,\n');
    const r = nrr('metrics', '--data', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("subscriptions.csv row 19, column amount: '12O0': expected a plain number");
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const skip = nrr('metrics', '--data', dir, '--skip-invalid', '--rejects', join(dir, 'rejects.csv'), '--as-of', '2024-12', '--window', '11');
    expect(skip.status).toBe(0);
    expect(skip.stderr).toContain('1 rejected');
    expect(readFileSync(join(dir, 'rejects.csv'), 'utf8')).toContain('12O0');
  });

  it('--help teaches the commands and unknown options fail cleanly', () => {
    const help = execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    for (const c of ['mrr', 'movements', 'metrics', 'report', 'explain', 'Examples']) expect(help).toContain(c);
    const bad = nrr('metrics', '--window', 'x');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('expected a whole number');
  });
});
