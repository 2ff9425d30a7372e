import { hostname } from 'node:os';
import { TABLE_ALREADY_EXISTS, clickhouseErrorCode } from './clickhouse-store.js';
import type { Driver } from './driver.js';

/** How often the holder says it is still writing, and how long a silent holder is waited for. */
const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;
const POLL_MS = 500;

/**
 * One writer at a time of a workspace store on a ClickHouse server, which has no lock a client can
 * hold (docs/store.md#a-store-in-clickhouse): the writer is the process that made the table
 * `<home>.nrr_store_writer` (CREATE TABLE of a name that exists is refused, one at a time, by the
 * server), and it adds a row with the server's time every 10 s while it writes. A table silent for
 * a minute was left by a process that is gone: it is dropped and taken. Two waiters that find the
 * same silent table at the same moment may both take it; each then builds a whole generation and
 * the store is still one or the other, never a mix (ClickHouseStoreGenerations).
 */
export class ClickHouseWriterLease {
  private timer: NodeJS.Timeout | null = null;
  private readonly owner = `${process.pid}@${hostname()}`;

  constructor(
    private readonly driver: Driver,
    private readonly home: string,
  ) {}

  private get table(): string {
    return `${this.home}.nrr_store_writer`;
  }

  private beat(): Promise<void> {
    return this.driver.exec(`INSERT INTO ${this.table} (owner, at) SELECT ${this.driver.dialect.quoteString(this.owner)}, now64(3)`);
  }

  async take(): Promise<void> {
    for (;;) {
      try {
        await this.driver.exec(`CREATE TABLE ${this.table} (owner String, at DateTime64(3, 'UTC')) ENGINE = Memory`);
        await this.beat();
        this.timer = setInterval(() => void this.beat().catch(() => undefined), HEARTBEAT_MS);
        this.timer.unref();
        return;
      } catch (e) {
        if (clickhouseErrorCode(e) !== TABLE_ALREADY_EXISTS) throw e;
      }
      if ((await this.silentMs()) > STALE_MS) {
        await this.driver.exec(`DROP TABLE IF EXISTS ${this.table} SYNC`);
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** How long the holder has been silent, by the server's clock (since the table was made, before its first row). */
  private async silentMs(): Promise<number> {
    const d = this.driver.dialect;
    try {
      const [row] = await this.driver.query(
        `SELECT dateDiff('millisecond', greatest((SELECT max(at) FROM ${this.table}), (SELECT toDateTime64(metadata_modification_time, 3) FROM system.tables WHERE database = ${d.quoteString(this.home)} AND name = 'nrr_store_writer')), now64(3)) AS ms`,
      );
      return Number(row?.['ms'] ?? 0);
    } catch {
      return 0; // dropped meanwhile: try to make it again
    }
  }

  async release(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.driver.exec(`DROP TABLE IF EXISTS ${this.table} SYNC`);
  }
}
