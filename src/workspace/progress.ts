/** Told about each long step; the CLI shows a spinner, the library stays quiet by default. */
export interface Progress {
  step(label: string): void;
  done(): void;
}

export const silentProgress: Progress = { step: () => {}, done: () => {} };
