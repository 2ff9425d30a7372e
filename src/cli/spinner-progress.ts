import ora from 'ora';
import type { Progress } from '../workspace/progress.js';

/** A spinner on stderr when it is a terminal; nothing when piped or in CI. */
export function spinnerProgress(enabled = Boolean(process.stderr.isTTY) && !process.env['CI']): Progress {
  if (!enabled) return { step: () => {}, done: () => {} };
  const spinner = ora({ stream: process.stderr });
  return {
    step(label) {
      if (spinner.isSpinning) spinner.text = label;
      else spinner.start(label);
    },
    done() {
      spinner.stop();
    },
  };
}
