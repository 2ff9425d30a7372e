import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { NrrError } from './errors.js';

const CODES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EPIPE: 'the reader closed the pipe',
  EBADF: 'not open for writing',
  EEXIST: 'it already exists',
};

/** A file-system error in words, with its code: "no space left on device (ENOSPC)". */
export function fsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code && CODES[code]) return `${CODES[code]} (${code})`;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!;
}

/**
 * An input must be a readable regular file before it is opened: opening a named pipe (`mkfifo
 * subscriptions.csv`) waits for a writer forever, and a folder or a device is not data.
 * @example checkRegularFile('demo/subscriptions.csv', 'subscriptions.csv')
 */
export function checkRegularFile(path: string, label: string = path): void {
  let kind: string;
  try {
    const st = statSync(path);
    if (st.isFile()) {
      accessSync(path, constants.R_OK);
      return;
    }
    kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : 'a device';
  } catch (e) {
    throw new NrrError(`${label}: cannot be read: ${fsErrorText(e)}`);
  }
  throw new NrrError(`${label}: is ${kind}, not a regular file; nothing was read from it. Put the data in an ordinary file.`);
}

/**
 * A data folder must exist and be listable.
 * @example checkDataFolder('examples/acme')
 */
export function checkDataFolder(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new NrrError(`data folder not found: ${dir} is not a folder`);
    readdirSync(dir);
  } catch (e) {
    if (e instanceof NrrError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NrrError(`data folder not found: ${dir}`);
    throw new NrrError(`data folder ${dir}: cannot be read: ${fsErrorText(e)}`);
  }
}
