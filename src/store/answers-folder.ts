import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Keeps the answers folder beside the store bounded: when more than `most` of its files match,
 * the least recently written go until `keep` are left. Best effort: a file that cannot be removed
 * stays (the folder only costs space).
 * @example await pruneOldest(dir, (n) => n.startsWith('scores-'), 6, 6);
 */
export async function pruneOldest(dir: string, matches: (name: string) => boolean, most: number, keep: number): Promise<void> {
  const names = (await readdir(dir)).filter(matches);
  if (names.length <= most) return;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  dated.sort((a, b) => a.t - b.t);
  for (const { n } of dated.slice(0, names.length - keep)) await unlink(join(dir, n)).catch(() => undefined);
}
