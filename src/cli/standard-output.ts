import { NrrError } from '../errors.js';
import { fsErrorText } from '../workspace/owned-files.js';

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

/**
 * Makes a failed standard output end the process with a non-zero code, whoever wrote to it; a
 * failed standard error is ignored (there is nowhere left to say so) and the exit code still tells.
 */
export function guardStandardStreams(): void {
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
