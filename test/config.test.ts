import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/config-file.js';
import { describePolicies } from '../src/config/policies.js';

describe('nrr.config.yaml', () => {
  it('fills documented defaults', () => {
    const c = parseConfigText('version: 1\n', 'nrr.config.yaml');
    expect(c.policies).toMatchObject({ snapshot: 'end', usage: 'include', fx: 'contract_start', reporting_currency: 'USD', nrr_method: 'snapshot' });
    expect(Object.keys(describePolicies(c.policies))).toEqual(['snapshot', 'usage', 'fx', 'reactivation', 'nrr_method', 'acv_bands']);
  });

  it('names the file, line and key of a bad value', () => {
    expect(() => parseConfigText('version: 1\npolicies:\n  snapshot: middle\n', 'nrr.config.yaml')).toThrow(
      /nrr\.config\.yaml:3: policies\.snapshot: .*"end".*"start"/s,
    );
  });

  it('rejects unknown keys rather than ignoring them', () => {
    expect(() => parseConfigText('policies:\n  snapshott: end\n', 'w.yaml')).toThrow(/w\.yaml:\d+: policies: .*snapshott/);
  });

  it('reports YAML syntax errors with a position', () => {
    expect(() => parseConfigText('policies:\n  snapshot: [end\n', 'x.yaml')).toThrow(/x\.yaml:\d+:\d+: not valid YAML/);
  });

  it('checks ACV bands are ascending with one open band last', () => {
    expect(() =>
      parseConfigText('policies:\n  acv_bands:\n    - {name: a, below: 100}\n    - {name: b, below: 50}\n    - {name: c, below: null}\n', 'c.yaml'),
    ).toThrow(/acv_bands\.1\.below: bands must be ascending/);
    expect(() => parseConfigText('policies:\n  reporting_currency: usd\n', 'c.yaml')).toThrow(/ISO 4217/);
  });

  it('reads a benchmark: mapping and names the line, key and choices of a bad one', () => {
    const c = parseConfigText('benchmark:\n  segment:\n    Enterprise: enterprise\n    Partners: none\n', 'b.yaml');
    expect(c.benchmark).toEqual({ segment: { Enterprise: 'enterprise', Partners: 'none' } });
    expect(() => parseConfigText('benchmark:\n  segment:\n    Enterprise: enterprize\n', 'b.yaml')).toThrow(
      'b.yaml:3: benchmark.segment.Enterprise: "enterprize" is not a benchmark; use one of: enterprise, mid-market, smb, product-led, usage-based, none',
    );
    expect(() => parseConfigText('benchmark:\n  segment: smb\n', 'b.yaml')).toThrow(
      /b\.yaml:2: benchmark\.segment: a map from group value to benchmark, e\.g\. \{ Enterprise: enterprise, SMB: smb \}/,
    );
    expect(() => parseConfigText('benchmark: smb\n', 'b.yaml')).toThrow(/b\.yaml:1: benchmark: a map from grouping to \{ group value: benchmark \}/);
  });
});

describe('warehouse: in nrr.config.yaml', () => {
  it('reads a table per source, as a name or with renamed columns', () => {
    const c = parseConfigText(
      'warehouse:\n  url: duckdb:billing.duckdb\n  tables:\n    subscriptions: analytics.billing_lines\n    accounts: { table: crm.customers, columns: { account_id: customer_id } }\n',
      'w.yaml',
    );
    expect(c.warehouse).toEqual({
      url: 'duckdb:billing.duckdb',
      tables: { subscriptions: { table: 'analytics.billing_lines', columns: {} }, accounts: { table: 'crm.customers', columns: { account_id: 'customer_id' } } },
    });
  });

  it('names the line and key of a bad table name, an unknown source, a column outside the contract and a missing subscriptions table', () => {
    expect(() => parseConfigText('warehouse:\n  tables:\n    subscriptions: "analytics.billing lines"\n', 'w.yaml')).toThrow(
      /w\.yaml:3: warehouse\.tables\.subscriptions\.table: a table or view as name, schema\.name or database\.schema\.name/,
    );
    expect(() => parseConfigText('warehouse:\n  tables:\n    subscriptions: a.b\n    invoices: a.c\n', 'w.yaml')).toThrow(/w\.yaml:\d: warehouse\.tables: .*\(invoices\)/);
    expect(() => parseConfigText('warehouse:\n  tables:\n    usage: { table: a.u, columns: { amount: amt } }\n', 'w.yaml')).toThrow(/warehouse\.tables\.subscriptions/);
    expect(() => parseConfigText('warehouse:\n  tables:\n    subscriptions: { table: a.b, columns: { acount_id: customer } }\n', 'w.yaml')).toThrow(
      /w\.yaml:3: warehouse\.tables\.subscriptions\.columns: a map from a column of subscriptions \(account_id, line_id, .*mrr\) to the table's column.*\(acount_id\)/,
    );
    expect(() => parseConfigText('warehouse:\n  url: mysql://x/y\n  tables:\n    subscriptions: a.b\n', 'w.yaml')).toThrow(/w\.yaml:2: warehouse\.url: a URL starting postgres:\/\/, clickhouse:\/\/ or duckdb:/);
    expect(() => parseConfigText('warehouse:\n  url: duckdb:x\n  url_env: WH\n  tables:\n    subscriptions: a.b\n', 'w.yaml')).toThrow(/warehouse\.url_env: give url or url_env, not both/);
    // The warehouse alone (the workspace store kept there, the files read as ever); nothing at all is a mistake.
    expect(parseConfigText('warehouse:\n  url_env: NRR_WAREHOUSE_URL\n', 'w.yaml').warehouse).toEqual({ url_env: 'NRR_WAREHOUSE_URL' });
    expect(() => parseConfigText('warehouse: {}\n', 'w.yaml')).toThrow(/w\.yaml:1: warehouse: give the warehouse \(url or url_env\), its tables \(tables\), or both/);
  });
});
