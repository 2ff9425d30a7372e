import type { Driver } from './driver.js';

/** ClickHouse's code of a failure: the server client's `code`, or the `Code: N.` of chdb's message; null when neither. */
export function clickhouseErrorCode(e: unknown): number | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9]+$/.test(code)) return Number(code);
  const m = /\bCode: (\d+)\./.exec(e instanceof Error ? e.message : String(e));
  return m === null ? null : Number(m[1]);
}

/** ClickHouse's codes of a database, and of a table, that already exists. */
const DATABASE_ALREADY_EXISTS = 82;
export const TABLE_ALREADY_EXISTS = 57;

/**
 * The generations of a workspace store in ClickHouse (docs/store.md#a-store-in-clickhouse).
 * ClickHouse has no transaction over several statements, and its views name the database they were
 * made in, so a build is never moved: each is made whole, meta included, in a database of its own
 * (`<home>__store_<n>`), and one row inserted into `<home>.nrr_store_current` makes it the store.
 * An INSERT of one row is one part, written and renamed into place at once: before it the old
 * generation is the store, after it the new one, never a mix. A killed build is a database no row
 * names, dropped by a later build.
 */
export class ClickHouseStoreGenerations {
  /**
   * `home`: the database that holds the pointer (the URL's, or `nrr` embedded). `alone`: no other
   * process can read the store meanwhile (embedded: one process at a time), so a superseded
   * generation is dropped at once; on a server it is kept until the next build, for the readers
   * that read the pointer before it moved.
   */
  constructor(
    private readonly driver: Driver,
    readonly home: string,
    private readonly alone: boolean,
  ) {}

  private get pointer(): string {
    return `${this.home}.nrr_store_current`;
  }

  private get prefix(): string {
    return `${this.home}__store_`;
  }

  /** The generation the pointer names (null when no store was ever published, or its database is gone). */
  async current(): Promise<string | null> {
    const d = this.driver.dialect;
    const [made] = await this.driver.query(`SELECT count() AS n FROM system.tables WHERE database = ${d.quoteString(this.home)} AND name = 'nrr_store_current'`);
    if (Number(made?.['n'] ?? 0) === 0) return null;
    const [row] = await this.driver.query(`SELECT database FROM ${this.pointer} ORDER BY generation DESC LIMIT 1`);
    if (row === undefined) return null;
    const database = String(row['database']);
    const [there] = await this.driver.query(`SELECT count() AS n FROM system.databases WHERE name = ${d.quoteString(database)}`);
    return Number(there?.['n'] ?? 0) > 0 ? database : null;
  }

  /** The generations' databases there are, by number. */
  private async generations(): Promise<Map<number, string>> {
    const d = this.driver.dialect;
    const rows = await this.driver.query(`SELECT name FROM system.databases WHERE startsWith(name, ${d.quoteString(this.prefix)})`);
    const out = new Map<number, string>();
    for (const r of rows) {
      const name = String(r['name']);
      const n = Number(name.slice(this.prefix.length));
      if (Number.isSafeInteger(n) && name === `${this.prefix}${n}`) out.set(n, name);
    }
    return out;
  }

  /**
   * Makes an empty database for a new generation and returns its name. What earlier builds left
   * is dropped first: every generation but the store's (alone), or those older than the store's
   * but the one before it (a server, where another writer's build may be under way past it).
   */
  async begin(): Promise<string> {
    await this.driver.exec(`CREATE DATABASE IF NOT EXISTS ${this.home}`);
    await this.driver.exec(`CREATE TABLE IF NOT EXISTS ${this.pointer} (generation UInt64, database String, published_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY generation`);
    const current = await this.current();
    const all = await this.generations();
    const numbers = [...all.keys()].sort((a, b) => a - b);
    const now = current === null ? null : [...all].find(([, name]) => name === current)?.[0] ?? null;
    const previous = now === null ? undefined : numbers.filter((n) => n < now).pop();
    for (const n of numbers) {
      const stale = this.alone ? n !== now : now !== null && n < now && n !== previous;
      if (stale) await this.dropDatabase(all.get(n)!);
    }
    let next = Math.max(0, ...numbers) + 1;
    // CREATE without IF NOT EXISTS: a number another writer took at the same moment is refused, and the next one tried.
    for (;;) {
      const name = `${this.prefix}${next}`;
      try {
        await this.driver.exec(`CREATE DATABASE ${name}`);
        return name;
      } catch (e) {
        if (clickhouseErrorCode(e) !== DATABASE_ALREADY_EXISTS || next > Math.max(0, ...numbers) + 100) throw e;
        next += 1;
      }
    }
  }

  /** Makes `database` the store: one row, the last thing written. The superseded generation is dropped when alone. */
  async publish(database: string): Promise<void> {
    const before = await this.current();
    const n = Number(database.slice(this.prefix.length));
    await this.driver.exec(`INSERT INTO ${this.pointer} (generation, database, published_at) VALUES (${n}, ${this.driver.dialect.quoteString(database)}, now64(3))`);
    if (this.alone && before !== null && before !== database) await this.dropDatabase(before);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.driver.exec(`DROP DATABASE IF EXISTS ${name} SYNC`);
  }
}
