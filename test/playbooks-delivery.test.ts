import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { NrrError, Workspace } from '../src/index.js';
import { signPayload, verifySignature } from '../src/playbooks/deliver-actions.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';
import { withState } from './helpers/play-state.js';

const BIN = fileURLToPath(new URL('../dist/cli/nrr.js', import.meta.url));
const dirs: string[] = [];
const servers: Server[] = [];
afterAll(() => {
  dirs.forEach(removeDir);
  servers.forEach((s) => s.close());
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP receiver; `respond` decides each answer (by the count of requests so far). */
async function receiver(respond: (n: number, req: Received, res: ServerResponse) => void): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const r = { headers: req.headers, body };
      got.push(r);
      respond(got.length, r, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

/** Four accounts; on 2024-06-30 BIG, S1 and S2 have their seats full. */
function data(config: string): string {
  const dir = fixtureDir({
    'subscriptions.csv': csv(
      'account_id,start_date,end_date,amount,interval',
      'BIG,2024-01-01,2025-01-01,150000,year',
      'S1,2024-01-01,,300,month',
      'S2,2024-01-01,,200,month',
      'LOW,2024-01-01,,100,month',
    ),
    'accounts.csv': csv('account_id,name,csm_owner,am_owner', 'BIG,Big Co,Cara,Abe', 'S1,Small One,Dev,Abe', 'S2,Small Two,Dev,Abe', 'LOW,Low Co,Dev,Abe'),
    'seats.csv': csv('account_id,month,seats_purchased,seats_active', 'BIG,2024-06,100,95', 'S1,2024-06,10,9', 'S2,2024-06,10,9', 'LOW,2024-06,10,2'),
    'nrr.config.yaml': config,
  });
  dirs.push(dir);
  return dir;
}

const config = (destinations: string, notify: string): string => `version: 1
playbook_settings:
  destinations:
${destinations}
playbooks:
  - name: full-seats
    when: seat_utilisation > 0.8
    task: { type: expansion, priority: high, due_days: 14, owner: csm }
    notify: [${notify}]
`;

const SECRET = 'test-secret-1';
const open = (dir: string): Promise<Workspace> => Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06' } });

describe('webhook delivery', () => {
  it('posts each entry as signed JSON with the account record and the reasons, retrying 5xx with backoff', async () => {
    // The first two requests fail with 503; then all succeed.
    const hook = await receiver((n, _r, res) => res.writeHead(n <= 2 ? 503 : 204).end());
    const dir = data(config(`    crm: { type: webhook, url: "${hook.url}", secret_env: NRR_TEST_SECRET, retries: 3, backoff_ms: 100 }`, 'crm'));
    const waits: number[] = [];
    const ws = await open(dir);
    try {
      const r = await runPlaybooks(ws, { asOf: '2024-06-30', env: { NRR_TEST_SECRET: SECRET }, sleep: async (ms) => void waits.push(ms) });
      expect(r.plays[0]!.entered).toBe(3);
      expect(r.deliveries).toEqual({ sent: 3, failed: 0, deferred: 0, errors: [] });
      // The first event needed three attempts: waits of 100 then 200 ms.
      expect(waits).toEqual([100, 200]);
      expect(hook.got.length).toBe(5);
      const delivered = hook.got.slice(2);
      for (const g of delivered) {
        expect(g.headers['content-type']).toBe('application/json');
        const ts = String(g.headers['x-nrr-timestamp']);
        expect(g.headers['x-nrr-signature']).toBe(signPayload(SECRET, ts, g.body));
        expect(verifySignature(SECRET, String(g.headers['x-nrr-signature']), ts, g.body)).toBe(true);
        expect(verifySignature('another-secret', String(g.headers['x-nrr-signature']), ts, g.body)).toBe(false);
        expect(verifySignature(SECRET, String(g.headers['x-nrr-signature']), ts, g.body.replace('full-seats', 'full-seatz'))).toBe(false);
      }
      const payloads = delivered.map((g) => JSON.parse(g.body) as Record<string, never>);
      expect(new Set(payloads.map((p) => p['event_id'])).size).toBe(3);
      expect(payloads.map((p) => p['event_id'])).toEqual(delivered.map((g) => g.headers['x-nrr-event-id']));
      const big = payloads.find((p) => p['account']['account_id'] === 'BIG')!;
      expect(big).toMatchObject({
        kind: 'enter',
        playbook: 'full-seats',
        as_of: '2024-06-30',
        config_version: ws.scoring.playbookVersion,
        account: { account_id: 'BIG', name: 'Big Co', arr: 150000, seat_utilisation: 0.95, days_to_renewal: 185 },
        task: { type: 'expansion', priority: 'high', owner: 'Cara', due_date: '2024-07-14', status: 'open' },
        reasons: { trigger: 'seat_utilisation > 0.8', values: { seat_utilisation: 0.95 } },
      });
      await withState(ws, async (s) => {
        const d = await s.deliveries();
        expect(d.every((x) => x.status === 'sent')).toBe(true);
        expect(d.map((x) => x.attempts).sort()).toEqual([1, 1, 3]);
      });
    } finally {
      ws.close();
    }
  });

  it('gives up on a 4xx without retrying, keeps the delivery, and sends it on a later run', async () => {
    let accept = false;
    const hook = await receiver((_n, _r, res) => res.writeHead(accept ? 200 : 400).end());
    const dir = data(config(`    crm: { type: webhook, url: "${hook.url}", secret_env: NRR_TEST_SECRET, retries: 3, backoff_ms: 1 }`, 'crm'));
    const ws = await open(dir);
    try {
      const env = { NRR_TEST_SECRET: SECRET };
      const first = await runPlaybooks(ws, { asOf: '2024-06-30', env });
      expect(first.deliveries!.failed).toBe(3);
      expect(first.deliveries!.errors[0]).toMatch(/^crm: event [0-9a-f]{20}: HTTP 400 from http:\/\/127\.0\.0\.1:\d+\/hook$/);
      expect(hook.got.length).toBe(3);
      accept = true;
      const second = await runPlaybooks(ws, { asOf: '2024-06-30', env });
      expect(second.already_recorded).toBe(true);
      expect(second.deliveries).toEqual({ sent: 3, failed: 0, deferred: 0, errors: [] });
      expect(hook.got.length).toBe(6);
      // Nothing left to send: a third run sends nothing.
      expect((await runPlaybooks(ws, { asOf: '2024-06-30', env })).deliveries).toEqual({ sent: 0, failed: 0, deferred: 0, errors: [] });
    } finally {
      ws.close();
    }
  });

  it('an unreachable receiver and a missing secret are reported, not thrown', async () => {
    const dir = data(config(`    crm: { type: webhook, url: "http://127.0.0.1:9/hook", secret_env: NRR_TEST_SECRET, retries: 1, backoff_ms: 1 }`, 'crm'));
    const ws = await open(dir);
    try {
      const r = await runPlaybooks(ws, { asOf: '2024-06-30', env: {} });
      expect(r.deliveries!.errors[0]).toMatch(/the environment variable NRR_TEST_SECRET \(the webhook's signing secret\) is not set/);
      const again = await runPlaybooks(ws, { asOf: '2024-06-30', env: { NRR_TEST_SECRET: SECRET } });
      // The first delivery fails after its retries; the destination's other two wait for the next
      // run instead of each waiting out the same failure.
      expect(again.deliveries).toMatchObject({ sent: 0, failed: 1, deferred: 2 });
      expect(again.deliveries!.errors[0]).toMatch(/http:\/\/127\.0\.0\.1:9\/hook: .*\(after 2 attempts\)/);
      expect(again.deliveries!.errors[1]).toBe('crm: 2 deliveries deferred to the next run: crm failed earlier in this run');
    } finally {
      ws.close();
    }
  });
});

describe('chat and outbox delivery', () => {
  it('posts a Slack-compatible message and appends JSONL and CSV outboxes, never twice', async () => {
    const chat = await receiver((_n, _r, res) => res.writeHead(200).end('ok'));
    const dir = data(
      config(
        [`    slack: { type: chat, url: "${chat.url}" }`, '    jsonl: { type: outbox, file: out/events.jsonl }', '    sheet: { type: outbox, file: out/events.csv }'].join('\n'),
        'slack, jsonl, sheet',
      ),
    );
    const ws = await open(dir);
    try {
      const r = await runPlaybooks(ws, { asOf: '2024-06-30' });
      expect(r.deliveries).toEqual({ sent: 9, failed: 0, deferred: 0, errors: [] });
      const big = chat.got.map((g) => JSON.parse(g.body) as { text: string; blocks: { type: string; text: { type: string; text: string } }[] }).find((m) => m.text.includes('BIG'))!;
      expect(big.text).toBe('*full-seats*: Big Co (BIG) → expansion task for Cara, high, due 2024-07-14');
      expect(big.blocks[0]!.type).toBe('section');
      // The trigger's `>` is escaped for Slack mrkdwn, which shows it as `>`.
      expect(big.blocks[0]!.text.text).toContain('• when seat_utilisation &gt; 0.8');

      const jsonl = () => readFileSync(join(dir, 'out/events.jsonl'), 'utf8').trim().split('\n');
      const sheet = () => parseCsv(readFileSync(join(dir, 'out/events.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      expect(jsonl().length).toBe(3);
      expect(sheet().map((x) => [x['account_id'], x['owner'], x['kind']]).sort()).toEqual([
        ['BIG', 'Cara', 'enter'],
        ['S1', 'Dev', 'enter'],
        ['S2', 'Dev', 'enter'],
      ]);
      // A crash after appending but before the delivery was marked sent: every delivery is pending
      // again, and the JSONL file lost its last newline half-way through a line.
      await withState(ws, (s) => s.exec("UPDATE play_deliveries SET status = 'pending'"));
      writeFileSync(join(dir, 'out/events.jsonl'), readFileSync(join(dir, 'out/events.jsonl'), 'utf8').trimEnd().slice(0, -10));
      const again = await runPlaybooks(ws, { asOf: '2024-06-30' });
      expect(again.deliveries!.sent).toBe(9);
      // The torn last line was cut off and its event written again once: three whole lines.
      const ids = jsonl().map((l) => (JSON.parse(l) as { event_id: string }).event_id);
      expect(ids.length).toBe(3);
      expect(new Set(ids).size).toBe(3);
      expect(sheet().length).toBe(3);
    } finally {
      ws.close();
    }
  });

  it('a play naming an unknown destination is refused when the config loads', async () => {
    const dir = data(config('    jsonl: { type: outbox, file: out/e.jsonl }', 'jsonl, crm'));
    const e = await open(dir).then(
      (ws) => (ws.close(), undefined),
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toMatch(/nrr\.config\.yaml:\d+: playbooks\.0\.notify\.1: no destination 'crm' in playbook_settings\.destinations \(known: jsonl\)/);
  });
});


describe('a run killed half-way and run again', () => {
  it('fires nothing twice: no task or event twice, every delivery made, a repeat only of the one cut off', async () => {
    expect(existsSync(BIN), 'build first: npm run build').toBe(true);
    // The receiver never answers the second request: the run is killed while waiting for it.
    let kill: () => void = () => undefined;
    const hook = await receiver((n, _r, res) => {
      if (n === 2) kill();
      else res.writeHead(200).end();
    });
    const dir = data(config(`    crm: { type: webhook, url: "${hook.url}", secret_env: NRR_TEST_SECRET, retries: 0, timeout_ms: 60000 }`, 'crm'));
    const args = [BIN, 'playbooks', 'run', '--data', dir, '--as-of', '2024-06-30', '-q'];
    const env = { ...process.env, NRR_TEST_SECRET: SECRET };
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    kill = () => child.kill('SIGKILL');
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    expect(signal).toBe('SIGKILL');
    expect(hook.got.length).toBe(2);

    // Killed mid-run, killed at random points of a fresh run: each time, running again completes it.
    for (const delay of [150, 400, 700]) {
      const c = spawn(process.execPath, [...args, '--run-key', `kill-${delay}`], { env, stdio: 'ignore' });
      setTimeout(() => c.kill('SIGKILL'), delay);
      await new Promise((r) => c.on('exit', r));
    }
    // Run asynchronously: the receiver lives in this process and must keep answering.
    const again = await runCli(args, env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('already recorded');

    const ws = await open(dir);
    try {
      await withState(ws, async (s) => {
        const tasks = await s.tasks();
        expect(tasks.map((t) => t.account_id).sort()).toEqual(['BIG', 'S1', 'S2']);
        const enters = (await s.events()).filter((e) => e.kind === 'enter');
        expect(enters.length).toBe(3);
        expect((await s.deliveries()).every((d) => d.status === 'sent')).toBe(true);
      });
    } finally {
      ws.close();
    }
    // Each event reached the receiver; only the one cut off by the kill and the one before it
    // (whose result is recorded while the next request is under way) may have come twice.
    const ids = hook.got.map((g) => String(g.headers['x-nrr-event-id']));
    expect(new Set(ids).size).toBe(3);
    expect(ids.length).toBeLessThanOrEqual(5);
  }, 120_000);
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { env });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}
