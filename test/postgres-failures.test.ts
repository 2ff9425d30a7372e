import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDriver } from '../src/drivers/postgres-driver.js';
import { NrrError } from '../src/errors.js';
import { engineAvailability } from './helpers/engines.js';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.js';

/**
 * What a user reads when PostgreSQL fails under nrr (a real server started for the test): a lost
 * connection and a refusal by the server are messages naming the server and the reason, never an
 * "internal error"; a fault in a statement's SQL is not dressed up as the user's problem.
 */

const why = engineAvailability('postgres');

describe.skipIf(why !== null)('PostgreSQL failures as the user reads them', () => {
  let server: PostgresServer;
  let admin: pg.Client;

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    server?.stop();
  });

  it('a connection the server ends is reported as lost, with the server and what to do', async () => {
    const driver = await PostgresDriver.open({ url: server.url, schema: 'failures_lost' });
    try {
      const [row] = await driver.query('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [Number(row!['pid'])]);
      const failure = await driver.query('SELECT 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(NrrError);
      const message = (failure as Error).message;
      expect(message).toContain(`PostgreSQL at ${server.url}`);
      // Either the server's own notice (57P01, admin shutdown) or the client's "connection terminated".
      expect(message).toMatch(/SQLSTATE 57P01|lost the connection/);
      expect(message).toContain('run again');
    } finally {
      driver.close();
    }
  });

  it('a role without the right to make the schema gets the server’s reason, not an internal error', async () => {
    await admin.query(`DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN; REVOKE CREATE ON DATABASE postgres FROM PUBLIC`);
    const url = server.url.replace('//nrr@', '//reader@');
    const failure = await PostgresDriver.open({ url, schema: 'failures_denied' }).then(
      (d) => (d.close(), null),
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(NrrError);
    expect((failure as Error).message).toMatch(/permission denied for database postgres \(SQLSTATE 42501\)/);
  });

  it('a statement nrr got wrong stays an internal fault, not a message blaming the server', async () => {
    const driver = await PostgresDriver.open({ url: server.url, schema: 'failures_sql' });
    try {
      const failure = await driver.query('SELEC 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(failure).not.toBeInstanceOf(NrrError);
    } finally {
      driver.close();
    }
  });
});
