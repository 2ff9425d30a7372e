import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { CONFIG_FILE_NAME } from '../config/config-file.js';
import { SOURCES } from '../contract/data-contract.js';
import { SIGNAL_SOURCES } from '../contract/signal-contract.js';
import { NrrError } from '../errors.js';

/**
 * Files nrr writes into a user's folders, and the rule that protects everything else: a file is
 * replaced only when nrr wrote it and nobody changed it since (or with `force`). The manifest
 * `.nrr-files.json` in each folder nrr writes to lists its files with their size and modification
 * time when written; a file missing from it, or changed since, is the user's. Every file is written
 * to a temporary name in the same folder and renamed, so a reader never sees half of one and a
 * failure (a full disk) leaves the previous file as it was.
 */
export const MANIFEST_FILE = '.nrr-files.json';

interface Manifest {
  readonly written_by: 'nrr';
  readonly files: Record<string, { readonly size: number; readonly mtime_ms: number }>;
}

import { fsErrorText } from '../input-file.js';

export { fsErrorText };

function readManifest(dir: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Partial<Manifest>;
    if (m && typeof m.files === 'object' && m.files !== null) return { written_by: 'nrr', files: { ...m.files } };
  } catch {
    // No manifest, or not one of ours: nothing in the folder is known to be nrr's.
  }
  return { written_by: 'nrr', files: {} };
}

/** Whether `name` in `dir` is exactly as nrr left it. */
function isOwned(manifest: Manifest, dir: string, name: string): boolean {
  const entry = manifest.files[name];
  if (!entry) return false;
  try {
    const st = statSync(join(dir, name));
    return st.isFile() && st.size === entry.size && st.mtimeMs === entry.mtime_ms;
  } catch {
    return false;
  }
}

/**
 * Of `names`, those that exist in `dir` and are not nrr's (absent from the manifest, or changed
 * since nrr wrote them).
 */
export function foreignFiles(dir: string, names: readonly string[]): string[] {
  const manifest = readManifest(dir);
  return names.filter((n) => existsSync(join(dir, n)) && !isOwned(manifest, dir, n));
}

/** The files of a folder that a workspace would read: contract and signal files in any format, and the config. */
export function dataFilesIn(dir: string): string[] {
  const contract = new Set([...Object.keys(SOURCES), ...Object.keys(SIGNAL_SOURCES)]);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new NrrError(`cannot read the folder ${dir}: ${fsErrorText(e)}`);
  }
  return entries.filter((f) => f === CONFIG_FILE_NAME || contract.has(basename(f, extname(f)))).sort();
}

/** Records `names` in `dir` as written by nrr, as they are now. */
export function recordWritten(dir: string, names: readonly string[]): void {
  const manifest = readManifest(dir);
  for (const n of names) {
    try {
      const st = statSync(join(dir, n));
      manifest.files[n] = { size: st.size, mtime_ms: st.mtimeMs };
    } catch {
      delete manifest.files[n];
    }
  }
  writeManifest(dir, manifest);
}

/** Forgets `names` (nrr removed them). */
export function forgetWritten(dir: string, names: readonly string[]): void {
  const manifest = readManifest(dir);
  for (const n of names) delete manifest.files[n];
  writeManifest(dir, manifest);
}

function writeManifest(dir: string, manifest: Manifest): void {
  try {
    writeWhole(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
  } catch (e) {
    throw new NrrError(`cannot write ${join(dir, MANIFEST_FILE)} (the list of files nrr wrote): ${fsErrorText(e)}`);
  }
}

/** A temporary name next to `path`, hidden, that no other writer picks. */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Creates `path` (it must not exist), writes `data` and flushes it to disk. */
function writeNew(path: string, data: string | Uint8Array | Iterable<string>): void {
  const fd = openSync(path, 'wx');
  try {
    const whole = (buf: Uint8Array): void => {
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    };
    if (typeof data === 'string' || data instanceof Uint8Array) whole(typeof data === 'string' ? Buffer.from(data) : data);
    else {
      // Small pieces (a line each) are gathered into writes of about a megabyte.
      let pending = '';
      for (const piece of data) {
        pending += piece;
        if (pending.length >= 1 << 20) {
          whole(Buffer.from(pending));
          pending = '';
        }
      }
      whole(Buffer.from(pending));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to a temporary file next to `path` and renames it over `path`. */
function writeWhole(path: string, data: string | Uint8Array): void {
  const tmp = temporaryPath(path);
  try {
    writeNew(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Makes `dir` ready for a command to write its files into: created when missing; refused when it is
 * not a folder, or (unless `force`) when it holds data files (contract files in any format, the
 * config) that nrr did not write. The message names them and leaves every file as it was.
 * @example prepareDataFolder('demo', { forceDoes: 'generate over them' })
 */
export function prepareDataFolder(dir: string, options: { readonly force?: boolean; readonly forceDoes: string }): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new NrrError(`cannot use the folder ${dir}: ${fsErrorText(e)}`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e2) {
      throw new NrrError(`cannot create the folder ${dir}: ${fsErrorText(e2)}`);
    }
    return;
  }
  if (!st.isDirectory()) throw new NrrError(`${dir} is not a folder: name a folder to write the files into`);
  if (options.force) return;
  const clash = foreignFiles(dir, dataFilesIn(dir));
  if (clash.length > 0) {
    throw new NrrError(
      `${dir} already holds ${clash.join(', ')}, which nrr did not write (or which changed since); nothing was changed. Choose an empty folder, or --force to ${options.forceDoes}`,
    );
  }
}

/** Writes each file whole (a temporary name, then a rename) into `dir` and records them as nrr's. */
export function writeOwnedFiles(dir: string, files: readonly (readonly [string, string])[]): void {
  for (const [name, text] of files) {
    try {
      writeWhole(join(dir, name), text);
    } catch (e) {
      throw new NrrError(`cannot write ${join(dir, name)}: ${fsErrorText(e)}`);
    }
  }
  recordWritten(dir, files.map(([name]) => name));
}

export interface ReplaceOptions {
  /** Replace the file even when nrr did not write it. */
  readonly force?: boolean;
  /** How the file is named in messages: "--rejects", "-o". */
  readonly option?: string;
}

/**
 * Checks that `path` can be written: its folder exists, it is not a folder or a device, and it is
 * not a file of the user's (unless `force`).
 */
export function checkOutputPath(path: string, options: ReplaceOptions = {}): void {
  const what = `${options.option ? `${options.option} ` : ''}${path}`;
  const dir = dirname(path);
  let folder;
  try {
    folder = statSync(dir);
  } catch (e) {
    throw new NrrError(`cannot write ${what}: the folder ${dir} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be used: ${fsErrorText(e)}`}`);
  }
  if (!folder.isDirectory()) throw new NrrError(`cannot write ${what}: ${dir} is not a folder`);
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (st.isDirectory()) throw new NrrError(`cannot write ${what}: it is a folder; name a file`);
  if (!st.isFile()) throw new NrrError(`cannot write ${what}: it is not a regular file (a device or a pipe); name a file, or leave the option out to write to standard output`);
  if (!options.force && foreignFiles(dir, [basename(path)]).length > 0) {
    throw new NrrError(`refusing to replace ${what}: nrr did not write it (or it changed since); choose another name, or --force to replace it`);
  }
}

/**
 * Writes a file whole or not at all: checked with `checkOutputPath`, produced by `write` under a
 * temporary name in the same folder, renamed over `path` once complete, and recorded as nrr's.
 * @example await replaceFile('report.md', async (tmp) => writeFileSync(tmp, text))
 */
export async function replaceFile(path: string, write: (tmp: string) => Promise<void> | void, options: ReplaceOptions = {}): Promise<void> {
  checkOutputPath(path, options);
  const tmp = temporaryPath(path);
  try {
    await write(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof NrrError) throw e;
    throw new NrrError(`cannot write ${options.option ? `${options.option} ` : ''}${path}: ${fsErrorText(e)}; nothing was written`);
  }
  recordWritten(dirname(path), [basename(path)]);
}

/**
 * `replaceFile` for text in memory (or made piece by piece): flushed to disk before the rename.
 * @example await writeFileWhole('report.html', html, { option: '-o' })
 */
export function writeFileWhole(path: string, data: string | Uint8Array | Iterable<string>, options: ReplaceOptions = {}): Promise<void> {
  return replaceFile(path, (tmp) => writeNew(tmp, data), options);
}
