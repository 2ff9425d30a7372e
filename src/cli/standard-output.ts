import { fstatSync, writeSync, type Stats } from 'node:fs';
import { isatty } from 'node:tty';
import { NrrError } from '../errors.js';
import { fsErrorText, writeFileWhole } from '../workspace/owned-files.js';

/**
 * Standard output that is complete or fails. A command's output is written in slices, each waiting
 * while the stream's buffer is full, and the command ends only once the last byte is accepted; a
 * write that fails (a full disk, a closed descriptor, a reader that went away) ends the command with
 * a non-zero exit instead of a stack trace or a success over half the bytes.
 *
 * Exit codes: 1 with `error: cannot write to standard output: …` for ENOSPC, EBADF, EIO and the
 * like; 141 (128 + SIGPIPE, what a shell reports for a process killed by a broken pipe) and no
 * message when the reader closed the pipe (`nrr movements | head`).
 */
export const EXIT_BROKEN_PIPE = 141;

/** Standard output could not take the output. */
export class OutputError extends NrrError {
  override name = 'OutputError';
  constructor(
    message: string,
    readonly exitCode: number,
    /** Nothing to say: the reader left on purpose (a broken pipe). */
    readonly quiet: boolean,
  ) {
    super(message);
  }
}

/** A write error of an output stream as the failure the user is told about. */
function outputError(e: unknown): OutputError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE'
    ? new OutputError('standard output: the reader closed the pipe', EXIT_BROKEN_PIPE, true)
    : new OutputError(`cannot write to standard output: ${fsErrorText(e)}; the output is incomplete`, 1, false);
}

let failure: OutputError | null = null;
let reported = false;

/** The failure of standard output, the first one seen: later errors of a destroyed stream repeat it. */
function stdoutFailure(e: unknown): OutputError {
  failure ??= outputError(e);
  return failure;
}

/** Prints the failure once (unless quiet) and returns its exit code. */
export function reportOutputError(e: OutputError): number {
  if (!reported && !e.quiet) process.stderr.write(`error: ${e.message}\n`);
  reported = true;
  return e.exitCode;
}

/** Writes all of `chunk` to `fd`: a short write (a size limit or a disk filling up) goes on until it fails. */
function writeAllSync(fd: number, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) {
    const n = writeSync(fd, chunk, off, chunk.length - off);
    if (n <= 0) throw Object.assign(new Error('nothing written'), { code: 'EIO' });
    off += n;
  }
}

/**
 * Makes a failed standard output end the process with a non-zero code, whoever wrote to it; a
 * failed standard error is ignored (there is nowhere left to say so) and the exit code still tells.
 */
export function guardStandardStreams(): void {
  // Output redirected to a file or a device is written synchronously by Node, which takes a short
  // write for a whole one: past a size limit (ulimit -f) or the last free block the rest of the
  // chunk would vanish with no error. Write every byte or fail.
  if (!isatty(1)) {
    let st: Stats | null = null;
    try {
      st = fstatSync(1);
    } catch {
      // Not open: the first write says so.
    }
    if (st && (st.isFile() || st.isCharacterDevice())) {
      (process.stdout as unknown as { _write: (c: Buffer | string, e: BufferEncoding, cb: (e?: Error | null) => void) => void })._write = (chunk, encoding, cb) => {
        try {
          writeAllSync(1, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
        } catch (e) {
          cb(e as Error);
          return;
        }
        cb();
      };
    }
  }
  process.stdout.on('error', (e) => {
    process.exitCode = reportOutputError(stdoutFailure(e));
  });
  process.stderr.on('error', () => {});
}

const SLICE = 1 << 20;

/**
 * Writes `text` to `stream` (standard output by default) with backpressure; resolves once the last
 * slice is accepted, rejects with an OutputError when a write fails.
 * @example await writeStdout(formatRows(rows, columns, 'csv'))
 */
export async function writeStdout(text: string, stream: NodeJS.WritableStream = process.stdout): Promise<void> {
  const isStdout = stream === process.stdout;
  if (isStdout && failure !== null) throw failure;
  let first: OutputError | null = null;
  const failed = (e: unknown): OutputError => (first ??= isStdout ? stdoutFailure(e) : outputError(e));
  for (let i = 0; i < text.length || i === 0; i += SLICE) {
    const last = i + SLICE >= text.length;
    await new Promise<void>((resolve, reject) => {
      const ok = stream.write(text.slice(i, i + SLICE), (e?: Error | null) => {
        if (e) reject(failed(e));
        else if (last) resolve();
      });
      // Later slices wait for room; the last waits until it is written.
      if (!last) {
        if (ok) resolve();
        else stream.once('drain', resolve);
      }
    });
    if (first) throw first;
  }
}

/**
 * A command's output to `-o FILE` (written whole, never over a file nrr did not write unless
 * --force; said on standard error as `wrote FILE`) or, without it, to standard output.
 */
export async function writeOutput(o: { out?: string; force?: boolean }, text: string | Iterable<string>): Promise<void> {
  if (!o.out) {
    if (typeof text === 'string') return writeStdout(text);
    for (const piece of text) await writeStdout(piece);
    return;
  }
  await writeFileWhole(o.out, text, { force: o.force, option: '-o' });
  process.stderr.write(`wrote ${o.out}\n`);
}
