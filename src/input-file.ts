import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { NrrError } from './errors.js';

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
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
    throw new NrrError(`${label}: cannot be read: ${reason(e)}`);
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
    throw new NrrError(`data folder ${dir}: cannot be read: ${reason(e)}`);
  }
}
