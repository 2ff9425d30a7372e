import type { Progress } from '../workspace/progress.js';

/**
 * A spinner on stderr when it is a terminal; nothing when piped or in CI. The spinner library is
 * loaded only then (a command whose output is piped does not pay for it): the first steps of a
 * command may pass before it is there, and the latest one is shown when it is.
 */
export function spinnerProgress(enabled = Boolean(process.stderr.isTTY) && !process.env['CI']): Progress {
  if (!enabled) return { step: () => {}, done: () => {} };
  let label: string | null = null;
  let finished = false;
  let spinner: { text: string; isSpinning: boolean; start(text: string): unknown; stop(): unknown } | null = null;
  void import('ora')
    .then(({ default: ora }) => {
      if (finished) return;
      spinner = ora({ stream: process.stderr });
      if (label !== null) spinner.start(label);
    })
    .catch(() => undefined);
  return {
    step(text) {
      label = text;
      if (spinner === null) return;
      if (spinner.isSpinning) spinner.text = text;
      else spinner.start(text);
    },
    done() {
      finished = true;
      spinner?.stop();
    },
  };
}
