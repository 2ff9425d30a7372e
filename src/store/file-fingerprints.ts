import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { SourceFile } from '../contract/source-files.js';
import { checkRegularFile } from '../input-file.js';

/** What the store remembers of a file it read: enough to know, without reading it, that it is unchanged. */
export interface FileFingerprint {
  readonly source: string;
  /** The file's name in the data folder. */
  readonly file: string;
  readonly size: number;
  /** Modification time in nanoseconds, as text (more digits than a double holds). */
  readonly mtimeNs: string;
  readonly sha256: string;
}

export interface FileStat {
  readonly size: number;
  readonly mtimeNs: string;
}

export function statOf(path: string): FileStat {
  const st = statSync(path, { bigint: true });
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString() };
}

/** The SHA-256 of a file's bytes, read in chunks (a file of any size in bounded memory). */
export function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Stat and hash of a file, taken before it is read: a change made while it is read shows next time. */
export async function fingerprintOf(f: SourceFile<string>): Promise<FileFingerprint> {
  checkRegularFile(f.path, f.file);
  const st = statOf(f.path);
  return { source: f.source, file: basename(f.path), size: st.size, mtimeNs: st.mtimeNs, sha256: await sha256Of(f.path) };
}

/** How the files of a data folder compare with those a store was built from. */
export interface FileChanges {
  /** Sources whose file is new, gone, renamed or has other bytes. */
  readonly changed: readonly string[];
  /** Sources whose file was touched (size or time) but holds the same bytes: only its stamp is updated. */
  readonly touched: readonly FileFingerprint[];
}

/**
 * Compares the files present with the fingerprints kept: the same name, size and modification
 * time is the same file, not read again; where size or time differ, the content hash decides.
 * `hash` false stops at the stat (a quick "is anything different?").
 */
export async function compareFiles(
  present: readonly SourceFile<string>[],
  kept: readonly FileFingerprint[],
  hash = true,
): Promise<FileChanges> {
  const byKept = new Map(kept.map((k) => [k.source, k]));
  const changed = new Set<string>();
  const touched: FileFingerprint[] = [];
  for (const f of present) {
    const k = byKept.get(f.source);
    byKept.delete(f.source);
    if (k === undefined || k.file !== basename(f.path)) {
      changed.add(f.source);
      continue;
    }
    checkRegularFile(f.path, f.file);
    const st = statOf(f.path);
    if (st.size === k.size && st.mtimeNs === k.mtimeNs) continue;
    if (!hash || st.size !== k.size) {
      changed.add(f.source);
      continue;
    }
    const sha = await sha256Of(f.path);
    if (sha === k.sha256) touched.push({ ...k, size: st.size, mtimeNs: st.mtimeNs });
    else changed.add(f.source);
  }
  for (const gone of byKept.keys()) changed.add(gone);
  return { changed: [...changed], touched };
}
