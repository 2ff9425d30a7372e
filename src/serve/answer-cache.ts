/**
 * Serialised answers (JSON text) kept by key, bounded in bytes: the least recently used go first
 * when a new one would pass `maxBytes`, and an answer larger than `maxEntryBytes` is never kept.
 * Requests for a key being computed share that computation; a failure is not kept.
 * @example const c = new AnswerCache(64 * 2 ** 20); const text = await c.get('metrics?window=12', compute);
 */
export class AnswerCache {
  private readonly entries = new Map<string, { text: string; bytes: number }>();
  private readonly pending = new Map<string, Promise<string>>();
  private used = 0;

  constructor(
    readonly maxBytes: number,
    /** Default: an eighth of the whole. */
    readonly maxEntryBytes = Math.floor(maxBytes / 8),
  ) {}

  /** Bytes held now (UTF-8 size of every kept answer and its key); never above `maxBytes`. */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The kept answer for `key`, or `compute`'s (kept when it fits). */
  get(key: string, compute: () => Promise<string>): Promise<string> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return Promise.resolve(hit.text);
    }
    let running = this.pending.get(key);
    if (!running) {
      running = compute().then(
        (text) => {
          this.pending.delete(key);
          this.keep(key, text);
          return text;
        },
        (e: unknown) => {
          this.pending.delete(key);
          throw e;
        },
      );
      this.pending.set(key, running);
    }
    return running;
  }

  private keep(key: string, text: string): void {
    const bytes = Buffer.byteLength(text) + Buffer.byteLength(key);
    if (bytes > this.maxEntryBytes || bytes > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.used -= old.bytes;
    }
    while (this.used + bytes > this.maxBytes) {
      const [oldest, entry] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.used -= entry.bytes;
    }
    this.entries.set(key, { text, bytes });
    this.used += bytes;
  }
}
